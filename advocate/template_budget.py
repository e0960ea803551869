"""Letter templates render in a sandbox, in a child process, under a budget.

`LetterSandbox` (the Jinja environment) resolves only keys of plain
dictionaries and items of plain lists, has no globals, calls nothing, and
counts as it goes: every loop iteration (at most `MAX_LOOP_ITERATIONS` per
render), every character of output (at most `MAX_OUTPUT_CHARS`), and the size
of any string or list built with * or + (at most `MAX_OUTPUT_CHARS` items).

The counters cannot see everything a template can make Python do (a filter
over a huge string is one C call), so `render` runs the template in a child
process (multiprocessing, *spawn*: this process may hold Typst's threads and
must never fork) that the template cannot leave: at most `CPU_SECONDS` of CPU
(an interval timer, then RLIMIT_CPU behind it), `MEMORY_BYTES` of memory
above the child's own start-up size (RLIMIT_AS) and `WALL_SECONDS` of wall
clock (the parent kills it). Over budget, `render` raises `BudgetExceeded`
naming the limit; the child is replaced and the calling web or RQ process
carries on. One child per process is started on first use and reused, so a
batch pays the start-up once, not per letter.

This module imports nothing of the app beyond the package root, so the child
starts fast.
"""

from __future__ import annotations

import functools
import math
import multiprocessing
import os
import signal
import threading

from jinja2 import StrictUndefined, nodes
from jinja2.defaults import DEFAULT_FILTERS, DEFAULT_TESTS
from jinja2.exceptions import SecurityError, TemplateError, UndefinedError
from jinja2.runtime import LoopContext, Macro
from jinja2.sandbox import ImmutableSandboxedEnvironment

MAX_OUTPUT_CHARS = 60_000
MAX_REPEAT = 1_000
MAX_LOOP_ITERATIONS = 100_000
CPU_SECONDS = 2
MEMORY_BYTES = 64 * 2**20
WALL_SECONDS = 10  # the CPU budget is the real limit; this catches a stuck child
START_SECONDS = 60  # a child's start-up, on a busy machine

SAFE_FILTERS = (
    "upper", "lower", "title", "capitalize", "trim", "default", "d", "join", "length",
    "count", "first", "last", "replace", "truncate", "wordwrap", "center", "indent",
)  # fmt: skip
SAFE_TESTS = (
    "defined", "undefined", "none", "string", "number", "sequence", "eq", "ne", "equalto",
    "lt", "gt", "le", "ge", "in", "odd", "even", "divisibleby", "==", "!=", "<", ">", "<=", ">=",
)  # fmt: skip
_LOOP_ATTRS = frozenset(
    {"index", "index0", "revindex", "revindex0", "first", "last", "length", "depth", "depth0"}
)
_COUNTED = "_counted_loop"  # the filter every {% for %} iterable is wrapped in


class BudgetExceeded(Exception):
    """A render went over one of its limits; the message names it."""


class _Count(threading.local):
    iterations = 0


_count = _Count()


def _counted_loop(iterable):
    for item in iterable:
        _count.iterations += 1
        if _count.iterations > MAX_LOOP_ITERATIONS:
            raise BudgetExceeded(
                f"the template's loops ran more than {MAX_LOOP_ITERATIONS:,} times "
                f"(the limit per letter)"
            )
        yield item


def _too_big(value) -> bool:
    return isinstance(value, str | list) and len(value) > MAX_OUTPUT_CHARS


class LetterSandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset(["*", "**", "+"])

    def __init__(self):
        super().__init__(
            undefined=StrictUndefined,
            autoescape=False,
            keep_trailing_newline=True,
            loader=None,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.globals.clear()
        self.filters = {name: DEFAULT_FILTERS[name] for name in SAFE_FILTERS}
        self.filters[_COUNTED] = _counted_loop
        self.tests = {name: DEFAULT_TESTS[name] for name in SAFE_TESTS}

    def _generate(self, source, name, filename, defer_init=False):
        # Every loop counts its iterations: wrap each {% for %} iterable.
        if isinstance(source, nodes.Template):
            for loop in source.find_all(nodes.For):
                if not (isinstance(loop.iter, nodes.Filter) and loop.iter.name == _COUNTED):
                    loop.iter = nodes.Filter(
                        loop.iter, _COUNTED, [], [], None, None, lineno=loop.iter.lineno
                    )
        return super()._generate(source, name, filename, defer_init=defer_init)

    def is_safe_attribute(self, obj, attr, value) -> bool:
        return False

    def getattr(self, obj, attribute):
        if type(obj) is dict and isinstance(attribute, str) and not attribute.startswith("_"):
            if attribute in obj:
                return obj[attribute]
            return self.undefined(obj=obj, name=attribute)
        if type(obj) is LoopContext and attribute in _LOOP_ATTRS:
            return getattr(obj, attribute)
        raise SecurityError(f"“{attribute}” is not a merge field")

    def getitem(self, obj, argument):
        if type(obj) is dict and isinstance(argument, str):
            return self.getattr(obj, argument)
        if type(obj) is list and type(argument) is int:
            try:
                return obj[argument]
            except IndexError:
                return self.undefined(obj=obj, name=str(argument))
        raise SecurityError("only merge fields and lines[n] can be read")

    def call(self, context, obj, *args, **kwargs):  # noqa: D401 - jinja's hook
        if isinstance(obj, Macro):
            return obj(*args, **kwargs)
        raise SecurityError("templates cannot call functions")

    def call_binop(self, context, operator, left, right):
        if operator == "**":
            raise SecurityError("the ** operator is not available in letter templates")
        if operator == "*":
            for a, b in ((left, right), (right, left)):
                if isinstance(a, str | list) and isinstance(b, int) and not isinstance(b, bool):
                    if b > MAX_REPEAT:
                        raise SecurityError("repetition is limited to 1,000 times")
                    if len(a) * b > MAX_OUTPUT_CHARS:
                        raise BudgetExceeded(
                            f"the template builds text longer than {MAX_OUTPUT_CHARS:,} "
                            "characters (the output limit)"
                        )
        if operator == "+" and isinstance(left, str | list) and isinstance(right, str | list):
            if len(left) + len(right) > MAX_OUTPUT_CHARS:
                raise BudgetExceeded(
                    f"the template builds text longer than {MAX_OUTPUT_CHARS:,} characters "
                    "(the output limit)"
                )
        return super().call_binop(context, operator, left, right)


ENV = LetterSandbox()


@functools.lru_cache(maxsize=256)
def _compiled(source: str):
    return ENV.from_string(source)


def render_here(source: str, context: dict) -> str:
    """Render in this process, with the counters but no process limits.
    Raises BudgetExceeded, or Jinja's SecurityError / UndefinedError /
    TemplateError."""
    _count.iterations = 0
    out: list[str] = []
    size = 0
    for chunk in _compiled(source).generate(context):
        size += len(chunk)
        if size > MAX_OUTPUT_CHARS:
            raise BudgetExceeded(
                f"the letter is longer than {MAX_OUTPUT_CHARS:,} characters (the output limit)"
            )
        out.append(chunk)
    return "".join(out)


# --------------------------------------------------------------------------- the child

CPU_MESSAGE = f"the template needs more than {CPU_SECONDS} s of CPU time to render (the time limit)"
MEMORY_MESSAGE = f"the template needs more than {MEMORY_BYTES // 2**20} MB of memory to render (the memory limit)"
LIMITS_MESSAGE = (
    f"the template went over its limits ({CPU_SECONDS} s of CPU time, "
    f"{MEMORY_BYTES // 2**20} MB of memory)"
)
WALL_MESSAGE = f"the template took longer than {WALL_SECONDS} s to render (the time limit)"


class _CpuTimeout(BaseException):
    """Raised in the child by the CPU interval timer (a BaseException, so
    nothing in Jinja can swallow it)."""


def _on_cpu_timer(signum, frame):
    raise _CpuTimeout


def _address_space() -> int | None:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return None


def _child(conn, cpu_seconds: float, memory_bytes: int) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # SIGXCPU must not write a core file
    base = _address_space()
    if base is not None:
        limit = base + memory_bytes
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    signal.signal(signal.SIGPROF, _on_cpu_timer)
    conn.send(("ready", None))
    while True:
        try:
            sources, context = conn.recv()
        except (EOFError, OSError):
            return
        usage = resource.getrusage(resource.RUSAGE_SELF)
        used = usage.ru_utime + usage.ru_stime
        # Behind the timer: the kernel stops a render stuck in one long C call.
        backstop = math.ceil(used + cpu_seconds) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (backstop, resource.RLIM_INFINITY))
        over = False
        try:
            signal.setitimer(signal.ITIMER_PROF, cpu_seconds)
            try:
                reply = ("ok", [render_here(source, context) for source in sources])
            finally:
                signal.setitimer(signal.ITIMER_PROF, 0)
        except _CpuTimeout:
            reply, over = ("budget", CPU_MESSAGE), True
        except MemoryError:
            reply, over = ("budget", MEMORY_MESSAGE), True
        except BudgetExceeded as err:
            reply = ("budget", str(err))
        except SecurityError as err:
            reply = ("security", str(err))
        except UndefinedError as err:
            reply = ("undefined", err.message or str(err))
        except TemplateError as err:
            reply = ("error", str(err))
        except RecursionError:
            reply = ("budget", "the template nests too deeply to render")
        except Exception as err:  # noqa: BLE001 - any other failure of template code
            reply = ("error", type(err).__name__)
        try:
            conn.send((*reply, over))
        except MemoryError:
            conn.send(("budget", MEMORY_MESSAGE, True))
            over = True
        if over:
            return  # a child that ran out of time or memory is not reused


class _Renderer:
    """One child per process, started on first use, replaced when it dies."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc = None
        self._conn = None
        self._owner = None

    def _start(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        ours, theirs = ctx.Pipe()
        proc = ctx.Process(
            target=_child,
            args=(theirs, CPU_SECONDS, MEMORY_BYTES),
            name="letter-template-sandbox",
            daemon=True,
        )
        proc.start()
        theirs.close()
        if not ours.poll(START_SECONDS):
            proc.kill()
            proc.join(5)
            raise BudgetExceeded("the template renderer did not start; try again")
        ours.recv()
        self._proc, self._conn, self._owner = proc, ours, os.getpid()

    def _stop(self) -> None:
        proc, conn = self._proc, self._conn
        self._proc = self._conn = None
        if conn is not None:
            conn.close()
        if proc is not None and self._owner == os.getpid():
            if proc.is_alive():
                proc.kill()
            proc.join(5)
            proc.close()

    def render(self, sources: tuple[str, ...], context: dict) -> tuple[str, object]:
        with self._lock:
            if self._owner != os.getpid():
                # Inherited across a fork: the child belongs to the parent process.
                self._proc = self._conn = None
            if self._proc is None or not self._proc.is_alive():
                self._stop()
                self._start()
            conn, proc = self._conn, self._proc
            try:
                conn.send((tuple(sources), context))
                if not conn.poll(WALL_SECONDS):
                    self._stop()
                    return "budget", WALL_MESSAGE
                kind, value, exiting = conn.recv()
            except (EOFError, OSError):
                proc.join(5)
                code = proc.exitcode
                self._stop()
                if code == -signal.SIGXCPU:
                    return "budget", CPU_MESSAGE
                return "budget", LIMITS_MESSAGE
            if exiting:
                self._stop()
            return kind, value


_renderer = _Renderer()


def render(sources: tuple[str, ...], context: dict) -> tuple[str, object]:
    """Render templates against one context in the sandbox child, in one
    round trip, under one budget: ("ok", [text, ...]) or (kind, message) with
    kind one of budget, security, undefined, error."""
    return _renderer.render(sources, context)
