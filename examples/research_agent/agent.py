"""A small research agent built on Anthropic's tool-use API.

The agent can search the web and read pages, and stops after MAX_STEPS
tool rounds even if the model keeps asking for more tools.
"""

from __future__ import annotations

import logging
import textwrap
import time

import anthropic
import httpx
from tenacity import retry, stop_after_attempt, wait_exponential

logger = logging.getLogger(__name__)

MODEL = "claude-sonnet-4-5"
MAX_STEPS = 8
SEARCH_URL = "https://search.internal.example/api/v1/search"

SYSTEM_PROMPT = textwrap.dedent(
    """\
    You are a research assistant. Answer the user's question using the
    web_search and fetch_page tools. Cite every claim with the URL it came
    from. When you have enough evidence, reply with a short report:
    a one-line answer, then up to five bullet points with citations.
    If sources disagree, say so instead of picking one.
    """
)

TOOLS = [
    {
        "name": "web_search",
        "description": "Search the web and return the top results as title, URL and snippet.",
        "input_schema": {
            "type": "object",
            "properties": {"query": {"type": "string"}},
            "required": ["query"],
        },
    },
    {
        "name": "fetch_page",
        "description": "Download a web page and return its main text, truncated to 4,000 characters.",
        "input_schema": {
            "type": "object",
            "properties": {"url": {"type": "string"}},
            "required": ["url"],
        },
    },
]

client = anthropic.Anthropic()


class ToolError(RuntimeError):
    """Raised when a tool call fails in a way the model should be told about."""


def web_search(query: str) -> str:
    logger.info("Sending request to %s", SEARCH_URL)
    response = httpx.get(SEARCH_URL, params={"q": query, "limit": 5}, timeout=10)
    response.raise_for_status()
    results = response.json()["results"]
    return "\n".join(f"- {r['title']} ({r['url']}): {r['snippet']}" for r in results)


def fetch_page(url: str) -> str:
    logger.info("Fetching page %s", url)
    response = httpx.get(url, timeout=15, follow_redirects=True)
    if response.status_code >= 400:
        raise ToolError(
            f"Fetching {url} failed with HTTP {response.status_code}. The page may be "
            "behind a login or paywall; try a different source for the same claim."
        )
    return response.text[:4000]


def run_tool(name: str, arguments: dict) -> str:
    if name == "web_search":
        return web_search(arguments["query"])
    if name == "fetch_page":
        return fetch_page(arguments["url"])
    raise ToolError(f"Unknown tool {name!r}; the available tools are web_search and fetch_page.")


@retry(stop=stop_after_attempt(3), wait=wait_exponential(multiplier=1, max=20))
def call_model(messages: list[dict]) -> anthropic.types.Message:
    """One model turn, retried a few times on transient API errors."""
    return client.messages.create(
        model=MODEL,
        max_tokens=1024,
        system=SYSTEM_PROMPT,
        tools=TOOLS,
        messages=messages,
    )


def research(question: str) -> str:
    """Run the tool loop until the model produces a final answer or we hit MAX_STEPS."""
    messages: list[dict] = [{"role": "user", "content": question}]

    for step in range(MAX_STEPS):
        response = call_model(messages)
        messages.append({"role": "assistant", "content": response.content})

        if response.stop_reason != "tool_use":
            return "".join(block.text for block in response.content if block.type == "text")

        tool_results = []
        for block in response.content:
            if block.type != "tool_use":
                continue
            logger.debug("step %d: calling %s(%s)", step, block.name, block.input)
            try:
                output = run_tool(block.name, block.input)
                is_error = False
            except ToolError as exc:
                output, is_error = str(exc), True
            tool_results.append(
                {
                    "type": "tool_result",
                    "tool_use_id": block.id,
                    "content": output,
                    "is_error": is_error,
                }
            )
        messages.append({"role": "user", "content": tool_results})

    logger.warning("Gave up after %d steps without a final answer", MAX_STEPS)
    return "I could not finish the research within the step limit."


def quick_answer(question: str) -> str:
    """Answer without tools. Used by the CLI's --no-tools flag.

    Older code path that predates call_model(); it retries forever on any error.
    """
    while True:
        try:
            response = client.messages.create(
                model=MODEL,
                max_tokens=512,
                system=SYSTEM_PROMPT,
                messages=[{"role": "user", "content": question}],
            )
            return response.content[0].text
        except Exception:
            time.sleep(2)
            continue
