"""Code-flow rules (PL401-PL405) through the real pipeline: positives, bounded look-alikes, wrappers, async."""

import textwrap

import pytest

from promptlint import tokens

BIG = "\n".join(
    f"{i}. For questions about policy area {i}, quote the policy text exactly, name the section, give every "
    "deadline and amount as written, and never promise an outcome the policy does not state."
    for i in range(1, 41)
)


def diags(lint, code, rule, **kw):
    res = lint(code, select=[rule], **kw)
    return [d for d in res.diagnostics if d.code == rule]


def lines(ds):
    return [d.line for d in ds]


def line_of(code, needle):
    return next(i for i, ln in enumerate(code.splitlines(), 1) if needle in ln)


def test_big_block_is_cacheable_size():
    assert tokens.count(BIG, "gpt-4o") > 1100


# ================================================================================= PL401 unbounded-llm-loop

LOOP = "PL401"
HIST = "PL402"
CAP = "PL403"


def test_while_true_breaking_on_model_output(lint):
    ds = diags(
        lint,
        """
        from openai import OpenAI
        client = OpenAI()

        def run(messages):
            while True:
                reply = client.chat.completions.create(model="gpt-4o", max_tokens=300, messages=messages)
                text = reply.choices[0].message.content
                if text == "DONE":
                    break
                messages = messages[-4:]
        """,
        LOOP,
    )
    assert lines(ds) == [6]
    assert ds[0].rule == "unbounded-llm-loop"
    assert "chat.completions.create at line 7" in ds[0].message
    assert "while True" in ds[0].message


def test_condition_only_while_on_model_output(lint):
    ds = diags(
        lint,
        """
        def solve(task):
            done = False
            while not done:
                reply = client.messages.create(model="claude-sonnet-4-5", max_tokens=500, messages=[{"role": "user", "content": task}])
                done = "FINAL ANSWER" in reply.content[0].text
        """,
        LOOP,
    )
    assert lines(ds) == [4]
    assert "while not done" in ds[0].message and "messages.create at line 5" in ds[0].message


def test_retry_forever_on_exceptions(lint):
    ds = diags(
        lint,
        """
        import time

        def answer(q):
            while True:
                try:
                    return client.chat.completions.create(model="gpt-4o", max_tokens=10, messages=[{"role": "user", "content": q}])
                except Exception:
                    time.sleep(1)
                    continue
        """,
        LOOP,
    )
    assert lines(ds) == [5]
    assert "retries chat.completions.create at line 7 forever" in ds[0].message


def test_retry_forever_with_pass_handler(lint):
    ds = diags(
        lint,
        """
        def answer(q):
            while True:
                try:
                    r = client.chat.completions.create(model="gpt-4o", max_tokens=10, messages=[{"role": "user", "content": q}])
                    break
                except Exception:
                    pass
            return r
        """,
        LOOP,
    )
    assert lines(ds) == [3]


def test_counter_skipped_by_continue_does_not_bound(lint):
    ds = diags(
        lint,
        """
        def run(q):
            turns = 0
            while True:
                reply = client.chat.completions.create(model="gpt-4o", max_tokens=10, messages=[{"role": "user", "content": q}])
                if not reply.choices:
                    continue
                turns += 1
                if turns >= 5:
                    break
        """,
        LOOP,
    )
    assert lines(ds) == [4]
    assert "`turns`" in ds[0].message and "continue" in ds[0].message


def test_while_turns_without_increment_is_unbounded(lint):
    ds = diags(
        lint,
        """
        MAX_TURNS = 10
        def run(q):
            turns = 0
            while turns < MAX_TURNS:
                reply = client.chat.completions.create(model="gpt-4o", max_tokens=10, messages=[{"role": "user", "content": q}])
                if "DONE" in reply.choices[0].message.content:
                    break
        """,
        LOOP,
    )
    assert lines(ds) == [5]


def test_local_wrapper_across_functions(lint):
    ds = diags(
        lint,
        """
        from openai import OpenAI
        client = OpenAI()

        def ask(question):
            r = client.chat.completions.create(model="gpt-4o", max_tokens=200, messages=[{"role": "user", "content": question}])
            return r.choices[0].message.content

        def think(task):
            return ask(f"Think about: {task}")

        def agent(task):
            while True:
                step = think(task)
                if step.startswith("ANSWER"):
                    return step
        """,
        LOOP,
    )
    assert lines(ds) == [13]
    msg = ds[0].message
    assert "think() at line 14" in msg and "ask() at line 10" not in msg
    assert "chat.completions.create at line 6" in msg


def test_local_wrapper_without_prompt_parameter(lint):
    """A function that calls a sink is an LLM call even when no parameter reaches the prompt."""
    ds = diags(
        lint,
        """
        HISTORY = []
        def step():
            return client.chat.completions.create(model="gpt-4o", max_tokens=100, messages=HISTORY)

        def main():
            while True:
                if step().choices[0].finish_reason == "stop":
                    break
        """,
        LOOP,
    )
    assert lines(ds) == [7]
    assert "step() at line 8 (which calls chat.completions.create at line 4)" in ds[0].message


def test_async_while_true_with_await(lint):
    ds = diags(
        lint,
        """
        from openai import AsyncOpenAI
        client = AsyncOpenAI()

        async def loop(messages):
            while True:
                r = await client.chat.completions.create(model="gpt-4o", max_tokens=100, messages=messages)
                if r.choices[0].message.tool_calls is None:
                    return r
        """,
        LOOP,
    )
    assert lines(ds) == [6]


def test_llm_argument_call_and_langchain_pipe(lint):
    ds = diags(
        lint,
        """
        from langchain_openai import ChatOpenAI
        from langchain_core.prompts import ChatPromptTemplate
        llm = ChatOpenAI(model="gpt-4o", max_tokens=100)
        chain = ChatPromptTemplate.from_template("Improve this draft: {draft}") | llm

        def polish(draft):
            while True:
                draft = chain.invoke({"draft": draft}).content
                if "LGTM" in draft:
                    return draft

        def crew(task):
            while True:
                result = run_crew(task, llm=llm)
                if result.approved:
                    return result
        """,
        LOOP,
    )
    assert lines(ds) == [8, 14]
    assert "chain.invoke at line 9" in ds[0].message
    assert "run_crew() at line 15" in ds[1].message


def test_worklist_that_the_model_extends(lint):
    ds = diags(
        lint,
        """
        from collections import deque
        def run(objective):
            tasks = deque([objective])
            while tasks:
                task = tasks.popleft()
                r = client.chat.completions.create(model="gpt-4o", max_tokens=100, messages=[{"role": "user", "content": task}])
                tasks.extend(r.choices[0].message.content.splitlines())
        """,
        LOOP,
    )
    assert lines(ds) == [5]


def test_for_over_itertools_count(lint):
    ds = diags(
        lint,
        """
        import itertools
        def run(q):
            for i in itertools.count():
                r = client.chat.completions.create(model="gpt-4o", max_tokens=100, messages=[{"role": "user", "content": q}])
                if r.choices[0].finish_reason == "stop":
                    break
        """,
        LOOP,
    )
    assert lines(ds) == [4]


def test_tenacity_without_stop_and_backoff_without_limit(lint):
    ds = diags(
        lint,
        """
        import backoff
        import tenacity
        from tenacity import retry, wait_exponential

        @retry(wait=wait_exponential(max=30))
        def a(messages):
            return client.chat.completions.create(model="gpt-4o", max_tokens=100, messages=messages)

        @tenacity.retry
        def b(messages):
            return client.chat.completions.create(model="gpt-4o", max_tokens=100, messages=messages)

        @backoff.on_exception(backoff.expo, Exception)
        def c(messages):
            return client.chat.completions.create(model="gpt-4o", max_tokens=100, messages=messages)

        @retry(stop=tenacity.stop_never)
        def d(messages):
            return client.chat.completions.create(model="gpt-4o", max_tokens=100, messages=messages)
        """,
        LOOP,
    )
    assert lines(ds) == [6, 10, 14, 18]
    assert "no stop=" in ds[0].message and "chat.completions.create at line 8" in ds[0].message
    assert "bare `@retry`" in ds[1].message
    assert "max_tries" in ds[2].message
    assert "stop_never" in ds[3].message


def test_recursion_without_depth_bound(lint):
    ds = diags(
        lint,
        """
        def ask(q):
            try:
                return client.chat.completions.create(model="gpt-4o", max_tokens=100, messages=[{"role": "user", "content": q}])
            except Exception:
                return ask(q)

        class Agent:
            def solve(self, task):
                plan = self.llm.invoke(task)
                for sub in plan.subtasks:
                    self.solve(sub)
        """,
        LOOP,
    )
    assert lines(ds) == [6, 12]
    assert "ask() calls itself at line 6" in ds[0].message
    assert "solve() calls itself at line 12" in ds[1].message and "self.llm.invoke at line 10" in ds[1].message


# -- bounded look-alikes: silent


@pytest.mark.parametrize(
    "code",
    [
        # for ... in range(n)
        """
        for step in range(8):
            r = client.chat.completions.create(model="gpt-4o", max_tokens=10, messages=msgs)
            if r.choices[0].finish_reason == "stop":
                break
        """,
        # iteration over data
        """
        for doc in docs:
            client.chat.completions.create(model="gpt-4o", max_tokens=10, messages=[{"role": "user", "content": doc}])
        """,
        # while turns < MAX with an increment
        """
        turns = 0
        while turns < MAX_TURNS:
            turns += 1
            r = client.chat.completions.create(model="gpt-4o", max_tokens=10, messages=msgs)
            if r.choices[0].message.content == "DONE":
                break
        """,
        # while + and-condition with a counter
        """
        done, step = False, 0
        while not done and step < 12:
            r = client.chat.completions.create(model="gpt-4o", max_tokens=10, messages=msgs)
            done = "DONE" in r.choices[0].message.content
            step = step + 1
        """,
        # while True with a counter check before break
        """
        i = 0
        while True:
            i += 1
            if i >= 5:
                break
            r = client.chat.completions.create(model="gpt-4o", max_tokens=10, messages=msgs)
            if r.choices[0].message.content == "DONE":
                break
        """,
        # ... or raise, checked after the call, with continue after the increment
        """
        attempts = 0
        while True:
            attempts += 1
            try:
                r = client.chat.completions.create(model="gpt-4o", max_tokens=10, messages=msgs)
                break
            except Exception:
                if attempts > 3:
                    raise
                continue
        """,
        # counter incremented only in the handler, the only path that loops back
        """
        def ask(q):
            attempt = 0
            while True:
                try:
                    return client.chat.completions.create(model="gpt-4o", max_tokens=10, messages=[{"role": "user", "content": q}])
                except Exception:
                    attempt += 1
                    if attempt >= 3:
                        raise
        """,
        # self.attribute counter
        """
        class Agent:
            def run(self):
                while True:
                    self.steps += 1
                    if self.steps > self.max_steps:
                        raise RuntimeError("too many steps")
                    r = self.llm.invoke(self.messages)
                    if r.content == "DONE":
                        return r
        """,
        # len(history) bound
        """
        history = []
        while len(history) < 20:
            r = client.chat.completions.create(model="gpt-4o", max_tokens=10, messages=history[-6:])
            history.append(r.choices[0].message)
        """,
        # deadline
        """
        import time
        deadline = time.monotonic() + 60
        while True:
            if time.monotonic() > deadline:
                break
            r = client.chat.completions.create(model="gpt-4o", max_tokens=10, messages=msgs)
            if r.choices[0].message.content == "DONE":
                break
        """,
        # a worklist consumed by pop
        """
        while queue:
            item = queue.pop()
            client.chat.completions.create(model="gpt-4o", max_tokens=10, messages=[{"role": "user", "content": item}])
        """,
        # tenacity with stop, backoff with max_tries / max_time
        """
        from tenacity import retry, stop_after_attempt
        import backoff

        @retry(stop=stop_after_attempt(3))
        def a(m):
            return client.chat.completions.create(model="gpt-4o", max_tokens=10, messages=m)

        @backoff.on_exception(backoff.expo, Exception, max_tries=5)
        def b(m):
            return client.chat.completions.create(model="gpt-4o", max_tokens=10, messages=m)

        @backoff.on_exception(backoff.expo, Exception, max_time=60)
        def c(m):
            return client.chat.completions.create(model="gpt-4o", max_tokens=10, messages=m)
        """,
        # a retry decorator that is not tenacity's, on a function without LLM calls
        """
        from tenacity import retry

        @retry
        def fetch(url):
            return httpx.get(url)
        """,
        # recursion with a depth parameter
        """
        def solve(task, depth=0):
            if depth > 3:
                return "too deep"
            plan = client.chat.completions.create(model="gpt-4o", max_tokens=10, messages=[{"role": "user", "content": task}])
            for sub in plan.choices[0].message.content.splitlines():
                solve(sub, depth + 1)
        """,
        # while True server loop without LLM calls
        """
        import socket
        def serve(sock):
            while True:
                conn, addr = sock.accept()
                conn.sendall(b"hello")
                conn.close()
        """,
        # interactive chat loop waiting on input()
        """
        def chat():
            while True:
                q = input("> ")
                if q == "quit":
                    break
                r = client.chat.completions.create(model="gpt-4o", max_tokens=10, messages=[{"role": "user", "content": q}])
                print(r.choices[0].message.content)
        """,
        # websocket handler: every iteration waits for the next user message
        """
        async def handler(ws):
            while True:
                msg = await ws.receive_text()
                r = await client.chat.completions.create(model="gpt-4o", max_tokens=10, messages=[{"role": "user", "content": msg}])
                await ws.send_text(r.choices[0].message.content)
        """,
        # a periodic job: no way out, sleeps every round
        """
        import time
        def digest_daemon():
            while True:
                client.chat.completions.create(model="gpt-4o", max_tokens=10, messages=[{"role": "user", "content": "Write the digest."}])
                time.sleep(3600)
        """,
        # embeddings in a while True loop are not completions
        """
        def embed_forever(texts):
            while True:
                client.embeddings.create(model="text-embedding-3-small", input=texts)
                if texts:
                    break
        """,
        # a loop body that never loops back
        """
        while True:
            r = client.chat.completions.create(model="gpt-4o", max_tokens=10, messages=msgs)
            break
        """,
    ],
)
def test_bounded_look_alikes_are_silent(lint, code):
    assert diags(lint, code, LOOP) == []


@pytest.mark.parametrize(
    "code",
    [
        # the loop flag is set from a counter check: `done = step >= MAX or ...`
        """
        def run(q):
            done, step = False, 0
            while not done:
                r = client.chat.completions.create(model="gpt-4o", max_tokens=10, messages=[{"role": "user", "content": q}])
                step += 1
                done = step >= 10 or "DONE" in r.choices[0].message.content
        """,
        # input read by a helper function: still interactive
        """
        def read_question():
            return input("> ").strip()

        def chat():
            while True:
                q = read_question()
                client.chat.completions.create(model="gpt-4o", max_tokens=10, messages=[{"role": "user", "content": q}])
        """,
        # backoff delay doubled and compared against a ceiling through a flag (aider's retry loop)
        """
        import time
        def send(messages):
            delay = 0.125
            while True:
                try:
                    return litellm.completion(model="gpt-4o", max_tokens=10, messages=messages)
                except Exception as err:
                    should_retry = is_transient(err)
                    if should_retry:
                        delay *= 2
                        if delay > 60:
                            should_retry = False
                    if not should_retry:
                        return None
                    time.sleep(delay)
                    continue
        """,
        # a counter incremented in `finally` (also on `continue`), checked by a limit helper (crewAI's agent loop)
        """
        class Executor:
            def loop(self):
                answer = None
                while not isinstance(answer, Finish):
                    try:
                        if has_reached_max_iterations(self.iterations, self.max_iter):
                            answer = force_final_answer(self.messages)
                            break
                        answer = parse(self.llm.invoke(self.messages))
                    except ParseError:
                        continue
                    finally:
                        self.iterations += 1
        """,
        # a step-counter object, advanced every round and asked before each step (windows-use's agent)
        """
        class Agent:
            def run(self):
                while True:
                    if self.agent_step.is_last_step():
                        return None
                    reply = self.llm.invoke(self.messages)
                    if reply.content == "DONE":
                        return reply
                    self.agent_step.increment_step()
        """,
        # interactive for over itertools.count()
        """
        import itertools
        for turn in itertools.count():
            q = input("> ")
            client.chat.completions.create(model="gpt-4o", max_tokens=10, messages=[{"role": "user", "content": q}])
        """,
        # llm= passed to telemetry is not an LLM call
        """
        def watch(self):
            while True:
                event = self.next_event()
                self._telemetry.tool_usage_error(llm=self.llm)
                if event is None:
                    break
        """,
    ],
)
def test_more_bounded_look_alikes(lint, code):
    assert diags(lint, code, LOOP) == []


def test_counter_incremented_only_on_success_path_does_not_bound(lint):
    ds = diags(
        lint,
        """
        def run(q):
            i = 0
            while True:
                try:
                    r = client.chat.completions.create(model="gpt-4o", max_tokens=10, messages=[{"role": "user", "content": q}])
                    i += 1
                    if i > 3:
                        break
                except Exception:
                    continue
        """,
        LOOP,
    )
    assert lines(ds) == [4]


def test_configured_llm_function_in_loops(write):
    from promptlint import config as cfgmod
    from promptlint.pipeline import run

    p = write(
        "proj/agent.py",
        """
        from myproject.llm import ask_llm

        def agent(task):
            history = [task]
            while True:
                answer = ask_llm(history)
                history.append(answer)
                if answer.startswith("FINAL"):
                    return answer
        """,
    )
    write("proj/pyproject.toml", '[tool.promptlint]\nllm-functions = ["ask_llm"]\n')
    cfg = cfgmod.load([str(p)], None, {"select": (LOOP, HIST, CAP)})
    got = sorted((d.code, d.line) for d in run([str(p)], cfg).diagnostics)
    # no output-limit finding: a configured wrapper is not a direct completion call
    assert got == [(LOOP, 6), (HIST, 7)]


def test_async_for_over_data_is_not_unbounded(lint):
    code = """
    async def run(stream):
        async for event in stream:
            await client.chat.completions.create(model="gpt-4o", max_tokens=10, messages=[{"role": "user", "content": event.text}])
    """
    assert diags(lint, code, LOOP) == []


# ================================================================================= PL402 unbounded-history


def test_chat_loop_history_grows(lint):
    ds = diags(
        lint,
        """
        history = [{"role": "system", "content": "You are a helpful support assistant."}]
        while True:
            q = input("> ")
            history.append({"role": "user", "content": q})
            r = client.chat.completions.create(model="gpt-4o", max_tokens=100, messages=history)
            history.append({"role": "assistant", "content": r.choices[0].message.content})
        """,
        HIST,
    )
    assert lines(ds) == [6]
    msg = ds[0].message
    assert "`history`" in msg and "chat.completions.create at line 6" in msg and "loop at line 3" in msg
    assert "2 messages appended per iteration (lines 5, 7)" in msg
    assert "grows every turn by every appended message" in msg


def test_history_growth_rate_of_literal_messages(lint):
    nudge = "Continue the story from exactly where you stopped, keeping the same narrator and tense."
    ds = diags(
        lint,
        f"""
        def story(messages):
            while True:
                r = client.chat.completions.create(model="gpt-4o", max_tokens=100, messages=messages)
                messages.append({{"role": "assistant", "content": r.choices[0].message.content}})
                messages.append({{"role": "user", "content": "{nudge}"}})
                if input("more? ") != "y":
                    break
        """,
        HIST,
    )
    n = tokens.count(nudge, "gpt-4o")
    assert lines(ds) == [4]
    assert f"by at least {n} tokens of fixed text per iteration" in ds[0].message
    assert ds[0].tokens_wasted == n


def test_history_over_data_loop_and_plus_equals(lint):
    ds = diags(
        lint,
        """
        def grade(answers):
            messages = [{"role": "system", "content": "Grade each answer."}]
            for a in answers:
                messages += [{"role": "user", "content": a}]
                r = litellm.completion(model="gpt-4o", max_tokens=5, messages=messages)
                messages += [r.choices[0].message]
        """,
        HIST,
    )
    assert lines(ds) == [6]
    assert "litellm.completion" in ds[0].message


def test_history_attribute_in_method_and_starred_send(lint):
    ds = diags(
        lint,
        """
        SYSTEM = "You are a terse assistant."
        class Bot:
            def __init__(self):
                self.history = []

            async def chat(self, ws):
                while True:
                    msg = await ws.receive_text()
                    self.history.append({"role": "user", "content": msg})
                    r = await self.client.chat.completions.create(
                        model="gpt-4o", max_tokens=50,
                        messages=[{"role": "system", "content": SYSTEM}, *self.history],
                    )
                    self.history.append(r.choices[0].message)
        """,
        HIST,
    )
    assert lines(ds) == [11]
    assert "`self.history`" in ds[0].message


def test_history_through_langchain_messages_placeholder(lint):
    ds = diags(
        lint,
        """
        from langchain_openai import ChatOpenAI
        from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
        llm = ChatOpenAI(model="gpt-4o", max_tokens=200)
        prompt = ChatPromptTemplate.from_messages([("system", "You are a helpful assistant."), MessagesPlaceholder("history"), ("human", "{input}")])
        chain = prompt | llm

        def repl():
            history = []
            while True:
                q = input("> ")
                reply = chain.invoke({"history": history, "input": q})
                history.extend([("human", q), ("ai", reply.content)])
        """,
        HIST,
    )
    assert lines(ds) == [12]
    assert "chain.invoke at line 12" in ds[0].message and "2 messages appended per iteration" in ds[0].message


def test_history_through_local_wrapper(lint):
    ds = diags(
        lint,
        """
        def call_model(messages):
            return client.messages.create(model="claude-sonnet-4-5", max_tokens=500, messages=messages)

        def research(question):
            messages = [{"role": "user", "content": question}]
            while True:
                r = call_model(messages)
                messages.append({"role": "assistant", "content": r.content})
                if r.stop_reason != "tool_use":
                    return r
                messages.append({"role": "user", "content": run_tools(r)})
        """,
        HIST,
    )
    assert lines(ds) == [8]
    assert "call_model() at line 8 (which calls messages.create at line 3)" in ds[0].message


@pytest.mark.parametrize(
    "code",
    [
        # a slice is sent
        """
        history = []
        while True:
            history.append({"role": "user", "content": input()})
            r = client.chat.completions.create(model="gpt-4o", max_tokens=10, messages=history[-12:])
            history.append(r.choices[0].message)
        """,
        # slice reassignment
        """
        history = []
        while True:
            history.append({"role": "user", "content": input()})
            r = client.chat.completions.create(model="gpt-4o", max_tokens=10, messages=history)
            history.append(r.choices[0].message)
            history = history[-10:]
        """,
        # del
        """
        history = [SYSTEM]
        while True:
            history.append({"role": "user", "content": input()})
            if len(history) > 20:
                del history[1:3]
            r = client.chat.completions.create(model="gpt-4o", max_tokens=10, messages=history)
            history.append(r.choices[0].message)
        """,
        # pop
        """
        history = [SYSTEM]
        while True:
            history.append({"role": "user", "content": input()})
            while len(history) > 20:
                history.pop(1)
            r = client.chat.completions.create(model="gpt-4o", max_tokens=10, messages=history)
            history.append(r.choices[0].message)
        """,
        # clear
        """
        history = []
        while True:
            history.append({"role": "user", "content": input()})
            r = client.chat.completions.create(model="gpt-4o", max_tokens=10, messages=history)
            if r.choices[0].finish_reason == "length":
                history.clear()
        """,
        # an in-place trim call
        """
        history = []
        while True:
            history.append({"role": "user", "content": input()})
            trim_history(history, max_tokens=4000)
            r = client.chat.completions.create(model="gpt-4o", max_tokens=10, messages=history)
            history.append(r.choices[0].message)
        """,
        # a summary assigned back
        """
        history = []
        while True:
            history.append({"role": "user", "content": input()})
            history = summarize_old_turns(history)
            r = client.chat.completions.create(model="gpt-4o", max_tokens=10, messages=history)
            history.append(r.choices[0].message)
        """,
        # a bounded loop
        """
        messages = [{"role": "user", "content": q}]
        for step in range(8):
            r = client.chat.completions.create(model="gpt-4o", max_tokens=10, messages=messages)
            messages.append(r.choices[0].message)
        """,
        # a bounded loop behind a progress bar
        """
        from tqdm import tqdm
        messages = [{"role": "user", "content": q}]
        for step in tqdm(range(8)):
            r = client.chat.completions.create(model="gpt-4o", max_tokens=10, messages=messages)
            messages.append(r.choices[0].message)
        """,
        # a counter-bounded while
        """
        messages = []
        turns = 0
        while turns < 6:
            turns += 1
            messages.append({"role": "user", "content": input()})
            r = client.chat.completions.create(model="gpt-4o", max_tokens=10, messages=messages)
            messages.append(r.choices[0].message)
        """,
        # a fresh list each iteration
        """
        for doc in docs:
            messages = [{"role": "system", "content": "Summarize."}]
            messages.append({"role": "user", "content": doc})
            client.chat.completions.create(model="gpt-4o", max_tokens=10, messages=messages)
        """,
        # the wrapper keeps a window itself
        """
        def call_model(messages):
            return client.chat.completions.create(model="gpt-4o", max_tokens=10, messages=messages[-10:])

        def chat():
            messages = []
            while True:
                messages.append({"role": "user", "content": input()})
                messages.append(call_model(messages).choices[0].message)
        """,
        # appended in a loop, sent once after it
        """
        messages = [{"role": "system", "content": "Answer in one word."}]
        for ex in examples:
            messages.append({"role": "user", "content": ex})
        client.chat.completions.create(model="gpt-4o", max_tokens=10, messages=messages)
        """,
    ],
)
def test_history_negatives(lint, code):
    assert diags(lint, code, HIST) == []


# ================================================================================= PL403 missing-output-limit


def test_missing_caps_on_direct_sdk_calls(lint):
    ds = diags(
        lint,
        """
        from openai import OpenAI
        import anthropic, litellm
        from google import genai
        from google.genai import types
        client = OpenAI()
        claude = anthropic.Anthropic()
        gclient = genai.Client()

        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Hi there"}])
        client.responses.create(model="gpt-5", input="Explain DNS.")
        claude.messages.create(model="claude-sonnet-4-5", messages=[{"role": "user", "content": "Hi"}])
        litellm.completion(model="gpt-4o", messages=[{"role": "user", "content": "Hi"}])
        gclient.models.generate_content(model="gemini-2.5-flash", contents="Explain DNS.")
        cfg = types.GenerateContentConfig(temperature=0.2)
        gclient.models.generate_content(model="gemini-2.5-flash", contents="Explain DNS.", config=cfg)
        gclient.models.generate_content(model="gemini-2.5-flash", contents="Explain DNS.", config={"temperature": 0})

        async def a():
            return await client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Hi"}])
        """,
        CAP,
    )
    assert lines(ds) == [10, 11, 12, 13, 14, 16, 17, 20]
    assert "chat.completions.create at line 10" in ds[0].message and "max_completion_tokens" in ds[0].message
    assert "max_output_tokens" in ds[1].message
    assert "messages.create at line 12" in ds[2].message and "max_tokens" in ds[2].message
    assert "GenerateContentConfig" in ds[4].message
    assert ds[0].rule == "missing-output-limit"


def test_google_generativeai_model_objects(lint):
    ds = diags(
        lint,
        """
        import google.generativeai as genai
        model = genai.GenerativeModel("gemini-1.5-flash")
        model.generate_content("Explain how DNS resolution works.")
        capped = genai.GenerativeModel("gemini-1.5-flash", generation_config={"max_output_tokens": 200})
        capped.generate_content("Explain how DNS resolution works.")
        model.generate_content("Explain DNS.", generation_config=genai.GenerationConfig(max_output_tokens=100))
        """,
        CAP,
    )
    assert lines(ds) == [4] and "generation_config" in ds[0].message


def test_langchain_constructors_without_cap(lint):
    ds = diags(
        lint,
        """
        from langchain_openai import ChatOpenAI, AzureChatOpenAI
        from langchain_anthropic import ChatAnthropic
        from langchain_google_genai import ChatGoogleGenerativeAI
        a = ChatOpenAI(model="gpt-4o-mini", temperature=0)
        b = ChatAnthropic(model="claude-sonnet-4-5")
        c = ChatGoogleGenerativeAI(model="gemini-2.5-flash")
        d = AzureChatOpenAI(azure_deployment="gpt-4o")
        ok1 = ChatOpenAI(model="gpt-4o", max_tokens=300)
        ok2 = ChatGoogleGenerativeAI(model="gemini-2.5-flash", max_output_tokens=300)
        ok3 = ChatOpenAI(model="gpt-4o").bind(max_tokens=200)
        ok4 = ChatOpenAI(model="gpt-4o", **settings)
        later = ChatAnthropic(model="claude-3-5-haiku")
        capped = later.bind(max_tokens=100)
        """,
        CAP,
    )
    assert lines(ds) == [5, 6, 7, 8]
    assert "ChatOpenAI(...) at line 5" in ds[0].message


@pytest.mark.parametrize(
    "code",
    [
        'client.chat.completions.create(model="gpt-4o", max_tokens=100, messages=[{"role": "user", "content": "Hi"}])',
        'client.chat.completions.create(model="o3", max_completion_tokens=2000, messages=[{"role": "user", "content": "Hi"}])',
        'client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Hi"}], **params)',
        'client.responses.create(model="gpt-5", input="Explain DNS.", max_output_tokens=300)',
        'client.embeddings.create(model="text-embedding-3-small", input="Explain DNS.")',
        'client.beta.threads.messages.create(thread_id=t, role="user", content="Explain DNS.")',
        'client.completions.create(model="gpt-3.5-turbo-instruct", prompt="Write a haiku.")',
        'claude.messages.create(model="claude-sonnet-4-5", max_tokens=500, messages=[{"role": "user", "content": "Hi"}])',
        'litellm.completion(model="gpt-4o", max_tokens=100, messages=[{"role": "user", "content": "Hi"}])',
        'gclient.models.generate_content(model="gemini-2.5-flash", contents="Explain DNS.", config=types.GenerateContentConfig(max_output_tokens=300))',
        'gclient.models.generate_content(model="gemini-2.5-flash", contents="Explain DNS.", config={"max_output_tokens": 300})',
        'cfg = types.GenerateContentConfig(max_output_tokens=300)\ngclient.models.generate_content(model="gemini-2.5-flash", contents="Explain DNS.", config=cfg)',
        'gclient.models.generate_content(model="gemini-2.5-flash", contents="Explain DNS.", config=make_config())',
        # local wrappers: the call inside is checked, not the wrapper call
        'def ask(q):\n    return client.chat.completions.create(model="gpt-4o", max_tokens=10, messages=[{"role": "user", "content": q}])\nask("Explain DNS.")',
        # a project function that happens to be called generate_content
        'from .writer import generate_content\ngenerate_content("Write a short post about hiking boots.")',
        # LLM object methods: the cap lives on the constructor
        'llm.invoke("Explain DNS.")',
        # generate_content on an object that is not (known to be) a Gemini model
        'class Local:\n    def __init__(self):\n        self.model = MyModel()\n    def run(self, q):\n        return self.model.generate_content(q)',
    ],
)
def test_output_limit_negatives(lint, code):
    assert diags(lint, code, CAP) == []


# ================================================================================= PL404 cache-unfriendly-order

CACHE = "PL404"


def _py(text):
    return text.replace("\\", "\\\\")


def test_fstring_with_date_before_big_static_block(lint):
    code = (
        "from datetime import date\n"
        "def answer(question):\n"
        '    prompt = f"""Today is {date.today()}. You answer questions for Acme.\n' + _py(BIG) + "\n"
        'Question: {question}"""\n'
        '    return client.chat.completions.create(model="gpt-4o", max_tokens=10, messages=[{"role": "user", "content": prompt}])\n'
    )
    ds = diags(lint, code, CACHE)
    assert lines(ds) == [3]
    static_after = tokens.count(". You answer questions for Acme.\n" + BIG + "\nQuestion: ", "gpt-4o")
    assert f"before {static_after:,} static tokens" in ds[0].message
    assert ds[0].tokens_wasted is None  # reordering saves price, not tokens
    call_line = line_of(code, "return client")
    assert "{date.today()}" in ds[0].message and f"chat.completions.create at line {call_line}" in ds[0].message
    assert "of `prompt`" in ds[0].message
    # the diagnostic points at the placeholder itself
    res_text = code.splitlines()[2]
    assert ds[0].column == res_text.index("{date.today()}") + 1


def test_format_template_with_fields_in_front(lint):
    code = (
        'DIGEST = """Today is {today}. You write the digest for {reader}.\n' + _py(BIG) + '\n{articles}\n"""\n'
        "def write(reader, articles, today):\n"
        "    p = DIGEST.format(today=today, reader=reader, articles=articles)\n"
        '    return litellm.completion(model="gpt-4o", max_tokens=10, messages=[{"role": "user", "content": p}])\n'
    )
    ds = diags(lint, code, CACHE)
    assert lines(ds) == [1]
    assert "({today}, {reader})" in ds[0].message
    assert "DIGEST" in ds[0].message


def test_template_file(lint, tmp_path):
    from promptlint import config as cfgmod
    from promptlint.pipeline import run

    p = tmp_path / "answer.j2"
    p.write_text("You help {{ user.name }} today.\n" + BIG + "\n\nQuestion: {{ question }}\n", encoding="utf-8")
    cfg = cfgmod.load([str(p)], None, {"select": (CACHE,)})
    ds = [d for d in run([str(p)], cfg).diagnostics if d.code == CACHE]
    assert lines(ds) == [1] and ds[0].column == len("You help ") + 1
    assert "{{ user.name }}" in ds[0].message


def test_request_with_dynamic_system_message_before_big_static_message(lint):
    code = (
        'RULES = """' + _py(BIG) + '"""\n'
        "from datetime import datetime\n"
        "def answer(user_name, question):\n"
        "    return client.chat.completions.create(model=\"gpt-4o\", max_tokens=10, messages=[\n"
        '        {"role": "system", "content": f"The user is {user_name}. The time is {datetime.now()}."},\n'
        '        {"role": "user", "content": RULES},\n'
        '        {"role": "user", "content": question},\n'
        "    ])\n"
    )
    ds = diags(lint, code, CACHE)
    assert lines(ds) == [line_of(code, '"role": "system"')]
    assert f"In the request of chat.completions.create at line {line_of(code, 'return client')}" in ds[0].message
    assert "{user_name}" in ds[0].message
    expected = tokens.count(". The time is ", "gpt-4o") + tokens.count(".", "gpt-4o") + tokens.count(BIG, "gpt-4o")
    assert f"before {expected:,} static tokens of later messages" in ds[0].message


def test_request_with_user_input_before_static_system(lint):
    code = (
        'SYSTEM = """' + _py(BIG) + '"""\n'
        "def answer(question):\n"
        '    return claude.messages.create(model="claude-sonnet-4-5", max_tokens=10, messages=[\n'
        '        {"role": "user", "content": question},\n'
        '        {"role": "user", "content": SYSTEM},\n'
        "    ])\n"
    )
    ds = diags(lint, code, CACHE)
    assert lines(ds) == [line_of(code, '"content": question')] and "the dynamic `question`" in ds[0].message
    assert "~" in ds[0].message  # Claude counts are estimates


@pytest.mark.parametrize(
    "code",
    [
        # static block first, dynamic after
        'SYSTEM = """You answer questions for Acme.\n' + _py(BIG) + '"""\n'
        "def answer(question, today):\n"
        '    return client.chat.completions.create(model="gpt-4o", max_tokens=10, messages=[\n'
        '        {"role": "system", "content": SYSTEM},\n'
        '        {"role": "user", "content": f"Today is {today}. {question}"},\n'
        "    ])\n",
        # dynamic before a small static block
        "def answer(question):\n"
        '    return client.chat.completions.create(model="gpt-4o", max_tokens=10, messages=[{"role": "user", "content": f"Q: {question}\\nAnswer in one short paragraph, citing the policy section."}])\n',
        # a constant interpolated in front is static
        "MAX_WORDS = 200\nCOMPANY = \"Acme\"\n"
        "def answer(question):\n"
        '    prompt = f"""Answer for {COMPANY} in at most {MAX_WORDS} words.\n' + _py(BIG) + '\nQuestion: {question}"""\n'
        '    return client.chat.completions.create(model="gpt-4o", max_tokens=10, messages=[{"role": "user", "content": prompt}])\n',
        # a .format field always filled with a constant is static
        'TEMPLATE = """You are {persona}.\n' + _py(BIG) + '\nQuestion: {question}"""\n'
        "def answer(question):\n"
        '    p = TEMPLATE.format(persona="a support agent", question=question)\n'
        '    return client.chat.completions.create(model="gpt-4o", max_tokens=10, messages=[{"role": "user", "content": p}])\n',
        # dynamic parts scattered, no static block after them is large enough
        "def answer(a, b, c):\n"
        '    return client.chat.completions.create(model="gpt-4o", max_tokens=10, messages=[{"role": "user", "content": f"A: {a}\\nB: {b}\\nC: {c}\\nCompare them."}])\n',
    ],
)
def test_cache_order_negatives(lint, code):
    assert diags(lint, code, CACHE) == []


def test_min_cacheable_tokens_option(write, tmp_path):
    from promptlint import config as cfgmod
    from promptlint.pipeline import run

    code = (
        "def answer(question, today):\n"
        '    prompt = f"""Today is {today}.\n' + _py(BIG) + '\n{question}"""\n'
        '    return client.chat.completions.create(model="gpt-4o", max_tokens=10, messages=[{"role": "user", "content": prompt}])\n'
    )
    p = write("app/mod.py", code)
    write("app/pyproject.toml", "[tool.promptlint.rules.cache-unfriendly-order]\nmin-cacheable-tokens = 4096\n")
    cfg = cfgmod.load([str(p)], None, {"select": (CACHE,)})
    assert [d for d in run([str(p)], cfg).diagnostics if d.code == CACHE] == []
    write("app/pyproject.toml", "[tool.promptlint.rules.cache-unfriendly-order]\nmin-cacheable-tokens = 512\n")
    cfg = cfgmod.load([str(p)], None, {"select": (CACHE,)})
    assert len([d for d in run([str(p)], cfg).diagnostics if d.code == CACHE]) == 1
    write("app/pyproject.toml", "[tool.promptlint.rules.cache-unfriendly-order]\nmin-tokens = 512\n")
    with pytest.raises(cfgmod.ConfigError, match="unknown option 'min-tokens'"):
        cfgmod.load([str(p)], None, {"select": (CACHE,)})
    write("app/pyproject.toml", '[tool.promptlint.rules.cache-unfriendly-order]\nmin-cacheable-tokens = "lots"\n')
    with pytest.raises(cfgmod.ConfigError, match="must be a non-negative number"):
        cfgmod.load([str(p)], None, {"select": (CACHE,)})


# ================================================================================= PL405 llm-call-in-loop

PER_ITEM = "PL405"

INSTRUCTIONS = (
    "You are a metadata extraction system. Read the article and return one JSON object with the fields title, "
    "audience, products, policy_area and region. Output only the JSON object, without Markdown fences."
)


def test_call_per_item_with_invariant_prompt(lint):
    ds = diags(
        lint,
        f"""
        INSTRUCTIONS = "{INSTRUCTIONS}"
        def process(articles):
            for article in articles:
                client.chat.completions.create(model="gpt-4o-mini", max_tokens=300, messages=[
                    {{"role": "system", "content": INSTRUCTIONS}},
                    {{"role": "user", "content": "Article:\\n" + article.text}},
                ])
        """,
        PER_ITEM,
    )
    n = tokens.count(INSTRUCTIONS, "gpt-4o-mini") + tokens.count("Article:\n", "gpt-4o-mini")
    assert lines(ds) == [5]
    assert ds[0].severity == "info"
    assert f"re-sends {n} loop-invariant prompt tokens" in ds[0].message
    assert "chat.completions.create at line 5" in ds[0].message and "`articles` (loop at line 4)" in ds[0].message
    assert ds[0].tokens_wasted == n


def test_async_for_and_wrapper_prompts_counted(lint):
    ds = diags(
        lint,
        f"""
        SYSTEM = "{INSTRUCTIONS}"
        async def extract(text):
            return await client.chat.completions.create(model="gpt-4o", max_tokens=300, messages=[
                {{"role": "system", "content": SYSTEM}}, {{"role": "user", "content": text}}])

        async def run(stream):
            async for doc in stream:
                await extract(doc)
        """,
        PER_ITEM,
    )
    assert lines(ds) == [9]
    assert "extract() at line 9 (which calls chat.completions.create at line 4)" in ds[0].message
    assert f"re-sends {tokens.count(INSTRUCTIONS, 'gpt-4o')} loop-invariant" in ds[0].message


@pytest.mark.parametrize(
    "code",
    [
        # agent steps over range
        f'for step in range(5):\n    client.chat.completions.create(model="gpt-4o", max_tokens=3, messages=[{{"role": "system", "content": "{INSTRUCTIONS}"}}, {{"role": "user", "content": q}}])\n',
        # model fallbacks over a literal list
        f'for m in ["gpt-4o", "gpt-4o-mini"]:\n    client.chat.completions.create(model=m, max_tokens=3, messages=[{{"role": "system", "content": "{INSTRUCTIONS}"}}, {{"role": "user", "content": q}}])\n',
        # leaves after the first success
        f'def first(providers, q):\n    for p in providers:\n        try:\n            r = p.chat.completions.create(model="gpt-4o", max_tokens=3, messages=[{{"role": "system", "content": "{INSTRUCTIONS}"}}, {{"role": "user", "content": q}}])\n            return r\n        except Exception:\n            continue\n',
        # nothing invariant: the whole prompt is the item
        'for doc in docs:\n    client.chat.completions.create(model="gpt-4o", max_tokens=3, messages=[{"role": "user", "content": doc}])\n',
        # a short invariant part
        'for doc in docs:\n    client.chat.completions.create(model="gpt-4o", max_tokens=3, messages=[{"role": "user", "content": f"Summarize: {doc}"}])\n',
        # embeddings are not completions
        'for doc in docs:\n    client.embeddings.create(model="text-embedding-3-small", input=doc)\n',
        # a call in a while loop is not one call per item of data
        f'while queue:\n    item = queue.pop()\n    client.chat.completions.create(model="gpt-4o", max_tokens=3, messages=[{{"role": "system", "content": "{INSTRUCTIONS}"}}, {{"role": "user", "content": item}}])\n',
    ],
)
def test_call_in_loop_negatives(lint, code):
    assert diags(lint, code, PER_ITEM) == []


# ================================================================================= the demo app


def test_demo_app_findings(run_cli):
    import os

    root = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")
    res = run_cli("check", root, "--format", "json", "--select", "PL4")
    got = sorted((os.path.relpath(d["path"], root), d["line"], d["rule"]) for d in res.json()["diagnostics"])
    assert got == [
        (os.path.join("research_agent", "agent.py"), 140, "unbounded-llm-loop"),
        (os.path.join("summarizer", "digest.py"), 19, "cache-unfriendly-order"),
        (os.path.join("summarizer", "pipeline.py"), 36, "missing-output-limit"),
        (os.path.join("summarizer", "pipeline.py"), 86, "llm-call-in-loop"),
        (os.path.join("summarizer", "pipeline.py"), 87, "llm-call-in-loop"),
        (os.path.join("support_bot", "bot.py"), 105, "missing-output-limit"),
        (os.path.join("support_bot", "bot.py"), 105, "unbounded-history"),
    ]


def test_rule_docs_and_examples_present():
    from promptlint.rules import registry

    reg = registry()
    for key in ("unbounded-llm-loop", "unbounded-history", "missing-output-limit", "cache-unfriendly-order", "llm-call-in-loop"):
        r = reg.get(key)
        assert r is not None and r.scope == "file" and getattr(r, "example_host", None) == "python"
        assert r.examples.valid and r.examples.invalid
    assert reg.get("PL405").severity == "info"
    assert textwrap.dedent(reg.get("PL404")().doc_text()).count("## ") == 4


def test_suppression_comments_on_loop_and_call_lines(lint):
    ds = lint(
        """
        def run(messages):
            while True:  # promptlint: disable=unbounded-llm-loop
                r = client.chat.completions.create(model="gpt-4o", messages=messages)  # promptlint: disable=PL403
                if r.choices[0].message.content == "DONE":
                    break
        """,
        select=["PL401", "PL403"],
    ).diagnostics
    assert ds == []
