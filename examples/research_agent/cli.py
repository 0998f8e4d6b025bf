"""Command-line entry point for the research agent."""

from __future__ import annotations

import argparse
import logging
import sys

from research_agent.agent import MAX_STEPS, quick_answer, research

USAGE = """\
research-agent [-h] [--no-tools] [--verbose] QUESTION

Examples:
  research-agent "What is the current LTS release of Node.js?"
  research-agent --no-tools "Explain the CAP theorem in two sentences"
"""


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="research-agent",
        usage=USAGE,
        description=f"Answer a question with web research (at most {MAX_STEPS} tool rounds).",
    )
    parser.add_argument("question", help="the question to research, in quotes")
    parser.add_argument(
        "--no-tools",
        action="store_true",
        help="answer from the model's own knowledge without searching the web",
    )
    parser.add_argument("--verbose", action="store_true", help="log every tool call")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING)

    if not args.question.strip():
        print("error: the question must not be empty", file=sys.stderr)
        return 2

    answer = quick_answer(args.question) if args.no_tools else research(args.question)
    print(answer)
    return 0


if __name__ == "__main__":
    sys.exit(main())
