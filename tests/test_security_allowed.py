"""Ordinary commands from real development sessions: the policy must let all of them through."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.security import PolicyContext, decide

DEV_SESSION_COMMANDS: list[str] = [
    # Python
    "pip install -r requirements.txt",
    "pip3 install --upgrade pip",
    "python -m pip install -r requirements-dev.txt",
    "python3 -m venv .venv",
    '. .venv/bin/activate && pip install -e ".[dev]"',
    "source .venv/bin/activate && pytest",
    "python -m pytest -q",
    "pytest tests/test_api.py::test_create -x -vv 2>&1 | tail -30",
    'python3 -c "print(1)"',
    "python3 - <<'EOF'\nimport json\nprint(json.dumps({'a': 1}))\nEOF",
    "ruff check . --fix && mypy src",
    "black --check . && isort --check-only .",
    "PYTHONPATH=src python -m app",
    "uv sync && uv run pytest -q",
    "uv add fastapi && uv run uvicorn main:app --port 8000 &",
    "uvicorn app.main:app --reload --port 8000 &",
    "python manage.py migrate && python manage.py runserver 0.0.0.0:8000 &",
    "flask --app app run --debug &",
    "gunicorn -w 4 app:app --bind 0.0.0.0:8000 --daemon",
    "alembic upgrade head",
    # JavaScript / TypeScript
    "npm install",
    "npm ci",
    "npm install --save-dev vitest @testing-library/react",
    "npm test",
    "npm run build",
    "npm run lint -- --fix",
    "npm run dev > dev.log 2>&1 &",
    "npx tsc --noEmit",
    "npx vitest run --reporter=verbose",
    "npx create-vite@latest frontend -- --template react-ts",
    "npx prisma migrate dev --name init",
    "npx -y eslint . --ext .ts,.tsx",
    "yarn add axios",
    "pnpm install && pnpm build",
    "env NODE_ENV=test npx jest --coverage",
    "export NODE_ENV=production && npm run build",
    "node server.js &",
    'node -e "console.log(process.version)"',
    "tsc -p tsconfig.json",
    "cd frontend && npm install && npm run build",
    "cd frontend && npm install && cd .. && npm test",
    "cd src && rm -rf ../build && cd ..",
    "timeout 10 npm test",
    # Other toolchains
    "go build ./... && go test ./...",
    "cargo build --release && cargo test",
    "make test",
    "mvn -q package && java -jar target/app.jar &",
    "./gradlew build",
    "bundle exec rake test",
    "composer install",
    # git
    'git add -A && git commit -m "feat: x"',
    "git log --oneline -5",
    "git status",
    "git diff --stat",
    'git init && git add . && git commit -m "init"',
    "git checkout -b feature/login",
    'git config user.email "agent@example.com"',
    "git config --get user.name",
    "git log -p -1 -- src/app.py",
    "git diff HEAD~1 -- src/ | head -100",
    "git clean -fdx",
    "git ls-files | xargs wc -l",
    # Files in the project
    "cat > src/app.py <<'EOF'\nimport os\n\nprint(os.getcwd())\nEOF",
    "cat <<EOF > .gitignore\nnode_modules/\n.venv/\nEOF",
    "mkdir -p src/components",
    "mkdir -p src/{components,pages,hooks} && touch src/components/App.tsx",
    "touch src/__init__.py tests/__init__.py",
    "cp .env.example .env",
    "mv src/old.py src/new.py",
    "rm -rf node_modules dist build",
    "rm -f *.pyc",
    "find . -name __pycache__ -type d -exec rm -rf {} +",
    "find . -name '*.pyc' -delete",
    'find . -name "*.py" -not -path "./.venv/*" | head -20',
    "chmod +x init.sh scripts/run.sh",
    "chmod 644 README.md",
    "chmod u+x,go-w bin/tool",
    "ln -sf src/main.py main.py",
    'echo "DATABASE_URL=sqlite:///./app.db" >> .env',
    "printf '%s\\n' a b > list.txt",
    'tee -a notes.md <<< "done"',
    "sed -i 's/localhost/0.0.0.0/g' src/config.py",
    "sed -n '1,20p' src/app.py",
    "tar -czf dist.tar.gz dist/",
    "unzip -o data.zip -d data/",
    "sort -u words.txt -o words.txt",
    # Inspection
    "ls -la",
    "grep -rn foo src/",
    "grep -rl TODO src | xargs grep -n FIXME",
    "cat package.json | jq '.scripts'",
    "jq '.dependencies' package.json",
    "awk -F, '{print $1}' data.csv | sort | uniq -c | sort -rn | head",
    "awk '$3 > 5 { print $1 }' data.txt",
    'awk \'{print ($2 > 0 ? "pos" : "neg")}\' data.txt',
    "curl -s localhost:3000/api/items | python3 -m json.tool",
    "curl -s localhost:3000/api | jq '.items | length'",
    "chmod -x scripts/old.sh",
    'echo "rm -rf / is dangerous"',
    "cat > notes.sh <<'EOF'\nrm -rf / $(sudo reboot)\nEOF",
    "git commit -m \"$(cat <<'EOF'\nfeat: login\n\nDetails.\nEOF\n)\"",
    "npm run build 2>&1 | tee build.log",
    'export PATH="$PWD/node_modules/.bin:$PATH"',
    "test -d node_modules || npm install",
    "nohup npm run dev > dev.log 2>&1 &",
    "git reset --hard HEAD~1",
    "pip freeze > requirements.txt",
    "npx playwright install chromium",
    "wc -l src/*.py",
    "tree -L 2 -I node_modules",
    "diff -u old.txt new.txt",
    "tail -n 50 server.log",
    "head -c 500 /etc/os-release",
    "which python3 node npm",
    "du -sh node_modules",
    "ps aux | grep node",
    "lsof -i :3000",
    "date +%Y-%m-%d",
    "echo $HOME",
    "rg -n 'def main' src",
    'sqlite3 app.db ".tables"',
    # Shell structure, servers, init
    "./init.sh",
    "bash init.sh",
    "sh ./init.sh",
    "chmod +x init.sh && ./init.sh",
    'bash -c "npm test && npm run lint"',
    "(cd backend && pytest -q)",
    'for f in src/*.py; do echo "$f"; done',
    "if [ -f package.json ]; then npm test; fi",
    "set -e; npm ci; npm test",
    "curl -s http://localhost:3000/api/health",
    'curl -X POST http://127.0.0.1:8000/items -H "Content-Type: application/json" -d \'{"a": 1}\'',
    "sleep 2 && curl -sf localhost:5173 > /dev/null && echo up",
    'pkill -f "uvicorn app.main:app"',
    "pkill -f vite || true",
    "killall node",
    "kill %1",
    "kill 4242",
    "kill -TERM 4242",
    "X=1",
    "helper() { ls src; }; helper",
]


@pytest.fixture
def ctx(tmp_path: Path) -> PolicyContext:
    project = tmp_path / "proj"
    for sub in ("src", "frontend", "backend", ".venv/bin"):
        (project / sub).mkdir(parents=True)
    (project / "init.sh").write_text("#!/bin/sh\necho ready\n")
    (project / ".venv/bin/activate").write_text("")
    return PolicyContext(project_dir=project, home=tmp_path / "home", started_pids=frozenset({4242}))


def test_there_are_many_dev_commands() -> None:
    assert len(DEV_SESSION_COMMANDS) >= 60


@pytest.mark.parametrize("command", DEV_SESSION_COMMANDS)
def test_dev_session_command_is_allowed(command: str, ctx: PolicyContext) -> None:
    decision = decide(command, ctx)
    assert decision.allowed, decision.reason
    assert decision.rule.startswith(("allow", "path")), decision.rule
    assert decision.reason.strip()
