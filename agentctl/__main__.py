"""python -m agentctl"""

from agentctl.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
