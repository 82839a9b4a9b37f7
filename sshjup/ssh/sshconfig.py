"""ssh config text: render sshjup's section, find it, place it, and read the rest of the file.

Pure functions of text; no I/O, no processes. The only module that imports sshconf.

sshjup owns one marked section of the file and nothing else::

    # >>> sshjup managed section: change it with `sshjup edit`, not by hand >>>
    Host jup-gpu
        ...
    # <<< sshjup end of managed section (sha256:0123456789abcdef) <<<

* The section is inserted as whole lines at one place, so removing it gives back the original
  bytes exactly. Every byte outside it is kept (CRLF, missing final newline, tabs, NBSP...).
* A new section goes near the top (after a leading comment header), before any ``Host *``,
  ``Match`` or global option that would otherwise win for its aliases: OpenSSH takes the first
  value it obtains. When global options follow, the section ends with ``Match all`` so those
  lines stay global. An existing section stays where it is (the user may have moved it).
* The end marker carries a digest of the section's lines: a hand edit is detected.

Why not sshconf for the user's file: sshconf drops the final newline and CRLF on write, does not
know ``Key=Value``, ``Host=`` or ``Match``, and ``set()`` reverses lists (see
shared design notes and tests/test_ssh_sshconf_edges.py). It is used here only to read back the
section sshjup itself wrote, where none of those forms occur.
"""

from __future__ import annotations

import functools
import re
import shlex
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence

from sshjup.errors import ConfigParseError
from sshjup.models import ALIAS_PREFIX, Target, validate_path
from sshjup.records import dataclass, field
from sshjup.store.digest import sha256

BEGIN_MARK = "# >>> sshjup managed section: change it with `sshjup edit`, not by hand >>>"
END_MARK_PREFIX = "# <<< sshjup end of managed section"
_END_RE = re.compile(r"# <<< sshjup end of managed section \(sha256:([0-9a-f]{16})\) <<<")
TERMINATOR = "Match all"
INDENT = "    "
# A silent network drop is noticed after SERVER_ALIVE_INTERVAL * (SERVER_ALIVE_COUNT_MAX + 1)
# = 45 s (ssh gives up when a keepalive is due with COUNT_MAX unanswered; measured: 15 s x 3
# took 60 s): the master exits, and `sshjup keep` brings the tunnel back.
SERVER_ALIVE_INTERVAL = 15
SERVER_ALIVE_COUNT_MAX = 2
# One socket per alias, named literally (no ssh tokens): %C hashes only the destination, so two
# aliases to one host would share a master. An alias longer than CONTROL_ALIAS_MAX is a 16-digit
# hash instead, so the name never depends on the directory and always fits.
CONTROL_SOCKET_PREFIX = "sshjup-"
CONTROL_ALIAS_MAX = 32
# sun_path is 104-108 bytes; ssh adds ".XXXXXXXXXXXXXXXX" while it sets the socket up.
MAX_SOCKET_PATH = 100
_MAX_CONTROL_DIR = MAX_SOCKET_PATH - len(CONTROL_SOCKET_PREFIX) - CONTROL_ALIAS_MAX - 1


@dataclass(frozen=True)
class Capabilities:
    """What the local OpenSSH client and platform can parse and do."""

    session_type: bool = True  # SessionType (OpenSSH 8.7+)
    fork_after_authentication: bool = True  # ForkAfterAuthentication (8.7+, not Windows)
    control_master: bool = True  # ControlMaster/ControlPath (not Windows)
    version: str = ""


def quote_arg(value: str) -> str:
    """An argument as OpenSSH's ``argv_split`` reads it back: double-quoted, each backslash
    doubled, when it holds a space or a backslash (validated values hold no quote)."""
    if " " not in value and "\\" not in value:
        return value
    return '"' + value.replace("\\", "\\\\") + '"'


def unquote_arg(value: str) -> str:
    """The inverse of :func:`quote_arg` (for a section sshjup wrote)."""
    if len(value) >= 2 and value[0] == value[-1] == '"':  # noqa: PLR2004
        return value[1:-1].replace("\\\\", "\\")
    return value


def _login_lines(host: str, target: Target) -> list[str]:
    """``Host HOST`` and how to log in to the target: the part the tunnel block and the
    companion share (host name, user, port, key, jump host, the extra ssh options)."""
    lines = [f"Host {host}", f"{INDENT}HostName {target.hostname}"]
    if target.user is not None:
        lines.append(f"{INDENT}User {target.user}")
    if target.port is not None:
        lines.append(f"{INDENT}Port {target.port}")
    if target.identity_file is not None:
        lines.append(f"{INDENT}IdentityFile {quote_arg(target.identity_file)}")
        # Only that key: an agent full of keys otherwise hits the server's MaxAuthTries first.
        if all(key != "IdentitiesOnly" for key, _ in target.ssh_options):
            lines.append(f"{INDENT}IdentitiesOnly yes")
    if target.proxy_jump is not None:
        lines.append(f"{INDENT}ProxyJump {target.proxy_jump}")
    lines.extend(f"{INDENT}{key} {value}" for key, value in target.ssh_options)
    return lines


def render_block(target: Target, caps: Capabilities, control_dir: str) -> list[str]:
    """The Host block for one target, as lines without line endings."""
    lines: list[str] = []
    _render_blocks(lines, (target,), caps, control_dir, companions=False)
    return lines


def _render_blocks(
    out: list[str],
    targets: Iterable[Target],
    caps: Capabilities,
    control_dir: str,
    *,
    companions: bool,
) -> None:
    """Append the targets' Host blocks to ``out``, a blank line between two (and each one's
    companion block after it, with ``companions``). The lines the same in every block are
    made once, not per block: a thousand hosts make thirteen thousand lines."""
    before_command, before_path, after_path = _fixed_lines(caps)
    session_type, control_master = caps.session_type, caps.control_master
    alive = (
        ("ServerAliveInterval", f"{INDENT}ServerAliveInterval {SERVER_ALIVE_INTERVAL}"),
        ("ServerAliveCountMax", f"{INDENT}ServerAliveCountMax {SERVER_ALIVE_COUNT_MAX}"),
    )
    alive_lines = [line for _, line in alive]
    add, extend = out.append, out.extend
    for target in targets:
        if out:
            add("")
        alias = target.alias
        extend(_login_lines(alias, target))
        for fwd in target.forwards:
            add(f"{INDENT}LocalForward {fwd.bind}:{fwd.local_port} {fwd.destination}")
        extend(before_command)
        if session_type:
            add(f"{INDENT}RemoteCommand {refusal_command(target)}")
        extend(before_path)
        if control_master:
            add(f"{INDENT}ControlPath {control_path(control_dir, alias)}")
        extend(after_path)
        if not target.ssh_options:
            extend(alive_lines)
        else:
            given = {key for key, _ in target.ssh_options}
            extend(line for key, line in alive if key not in given)
        if companions and target.companion:
            add("")
            extend(render_companion(target))


@functools.lru_cache(maxsize=8)  # (the same for every block of a section)
def _fixed_lines(caps: Capabilities) -> tuple[tuple[str, ...], ...]:
    """The lines of a tunnel block that ``caps`` alone decide: those before its
    RemoteCommand, those between it and its ControlPath, and those after that."""
    before_command = [f"{INDENT}ExitOnForwardFailure yes"]
    if caps.session_type:
        before_command.append(f"{INDENT}SessionType none")
    before_path = []
    if caps.fork_after_authentication:
        before_path.append(f"{INDENT}ForkAfterAuthentication yes")
    after_path = []
    if caps.control_master:
        before_path.append(f"{INDENT}ControlMaster auto")
        # The master is the tunnel (no session) and lives as long as the connection. Where
        # `ssh ALIAS` runs no session, `ControlPersist no` also ends a master that scp or sshfs
        # started through the alias (they pass RemoteCommand=none and run sftp, and
        # ForkAfterAuthentication backgrounds it) once their session ends, instead of
        # leaving a master without forwards.
        persist = "no" if caps.session_type and caps.fork_after_authentication else "yes"
        after_path.append(f"{INDENT}ControlPersist {persist}")
    return tuple(before_command), tuple(before_path), tuple(after_path)


def render_companion(target: Target) -> list[str]:
    """``Host NAME``: the same host as the tunnel block, without the tunnel (``--companion``).

    No forwards, no SessionType, no control socket: a plain alias for a shell, commands, scp,
    sftp, sshfs and editors.
    """
    return _login_lines(target.name, target)


def plain_ssh_command(target: Target) -> str:
    """``ssh NAME`` with a companion alias, else ``ssh [-p PORT] [-i KEY] [-J JUMP]
    [USER@]HOST``: the host without the tunnel."""
    if target.companion:
        return f"ssh {target.name}"
    words = ["ssh"]
    if target.port is not None:
        words += ["-p", str(target.port)]
    if target.identity_file is not None:
        words += ["-i", target.identity_file]
    if target.proxy_jump is not None:
        words += ["-J", target.proxy_jump]
    words.append(target.hostname if target.user is None else f"{target.user}@{target.hostname}")
    line = " ".join(words)
    # No word needs quotes (the usual case), checked once for them all: the line has only
    # characters shlex.quote leaves bare, no word is empty, and its only spaces are those
    # between the words.
    if _SHELL_SAFE(line) and all(words) and line.count(" ") == len(words) - 1:
        return line
    return " ".join(map(_shell_word, words))


# The characters shlex.quote leaves unquoted, and the space between the words.
_SHELL_SAFE = re.compile(r"[\w@%+=:,./ -]+", re.ASCII).fullmatch


def _shell_word(word: str) -> str:
    """``word`` as a POSIX shell reads it back as one word (``shlex.quote``, as the project's
    other printed commands), with a leading ``~/`` left outside the quotes so that the shell
    expands it, as it does for the unquoted key path."""
    if word.startswith("~/") and len(word) > 2:  # noqa: PLR2004
        return "~/" + shlex.quote(word[2:])
    return shlex.quote(word)


def refusal_command(target: Target) -> str:
    """The ``RemoteCommand`` of a tunnel block: it makes a command through the alias fail.

    With a ``RemoteCommand`` in the config, ``ssh jup-NAME CMD`` (and sftp, and an editor's
    ``ssh jup-NAME bash``) stops at once with "Cannot execute command-line and remote command"
    and leaves no master behind, instead of ignoring CMD and exiting 0 (``SessionType none``).
    The master runs no session, so the command never runs there; sshjup's own remote commands
    pass ``RemoteCommand=none``. A second ``ssh jup-NAME`` while the tunnel is up goes through
    the master's socket, which does open a session: it runs this, prints which command to use
    for a shell on stderr, and exits 0 (before, it opened a shell), as does a session forced
    with ``-o SessionType=default``. Every value in it was validated (no quotes, ``$``, ``%``
    or ``!``); the login shell (sh, csh or fish alike) runs ``sh -c '...'``, so ``>&2`` means
    stderr everywhere (csh would read a bare ``>&2`` as a file named 2), and ``printf %s``
    prints a key path's backslashes as they are (dash's ``echo`` would act on a backslash escape).
    """
    message = (
        f"{target.alias} is the Jupyter tunnel and runs no shell or command; for those, sftp or "
        f"an editor use: {plain_ssh_command(target)}"
    ).replace("\\", "\\\\")  # a Windows key path: inside "..." sh reads \\ as one
    # The quotes around a key path with spaces sit inside sh -c '...': each ' as '\''.
    message = message.replace("'", "'\\''")
    # OpenSSH expands %-tokens in RemoteCommand: %%s reaches the remote as %s.
    return f'sh -c \'printf "%%s\\n" "{message}" >&2\''


@functools.lru_cache(maxsize=16)  # the same for every block of a section
def _control_dir(control_dir: str) -> str:
    validate_path(control_dir, "control socket directory")
    if len(control_dir.rstrip("/").encode()) > _MAX_CONTROL_DIR:
        msg = (
            f"the control socket directory {control_dir!r} is too long for a Unix socket "
            f"(at most {_MAX_CONTROL_DIR} characters)"
        )
        raise ConfigParseError(msg, hint="set SSHJUP_CONTROL_DIR to a shorter directory")
    return control_dir.rstrip("/")


def control_socket_name(alias: str) -> str:
    """``sshjup-ALIAS``, or ``sshjup-`` and a 16-digit hash of a long alias."""
    if len(alias.encode()) <= CONTROL_ALIAS_MAX:
        return f"{CONTROL_SOCKET_PREFIX}{alias}"
    return f"{CONTROL_SOCKET_PREFIX}{sha256(alias.encode()).hexdigest()[:16]}"


def control_path(control_dir: str, alias: str) -> str:
    """``<dir>/sshjup-ALIAS``: this alias's own socket, whoever opens it (plain ssh or sshjup).

    A directory too long for a Unix socket path is refused.
    """
    return f"{_control_dir(control_dir)}/{control_socket_name(alias)}"


def render_body(
    targets: Iterable[Target],
    caps: Capabilities,
    control_dir: str,
    *,
    progress: Callable[[list[str]], None] | None = None,
) -> list[str]:
    """All Host blocks, in the order given, separated by blank lines.

    ``progress`` is called with the lines made so far after every few blocks, and once more
    after the last (so the lines can be used as they are made)."""
    body: list[str] = []
    if progress is None:
        _render_blocks(body, targets, caps, control_dir, companions=True)
        return body
    every = list(targets)
    for i in range(0, len(every), _BLOCKS_PER_PROGRESS):
        _render_blocks(
            body, every[i : i + _BLOCKS_PER_PROGRESS], caps, control_dir, companions=True
        )
        progress(body)
    return body


_BLOCKS_PER_PROGRESS = 50  # (about 30 KB of text)


def digest(body: Sequence[str]) -> str:
    """A short digest of the section's lines, independent of the file's line endings."""
    return _digest_of("\n".join(body), body)


def _digest_of(joined: str, body: Sequence[str]) -> str:
    """:func:`digest` of ``body``, given ``"\\n".join(body)``."""
    if "\r" in joined:  # (a CRLF file: the same digest as with LF)
        joined = "\n".join(line.rstrip("\r") for line in body)
    return sha256(joined.encode("utf-8", "surrogateescape")).hexdigest()[:16]


def render_section(body: Sequence[str], *, terminator: bool, eol: str) -> str:
    """The whole marked section as text, every line ending in ``eol``."""
    return _section(body, terminator=terminator, eol=eol)[0]


def _section(
    body: Sequence[str], *, terminator: bool, eol: str
) -> tuple[str, tuple[str, ...], str]:
    """The section's text, the lines between its markers, and their digest."""
    inner = (*body, TERMINATOR) if terminator else tuple(body)
    joined = "\n".join(inner)  # (one join for the digest and, with LF, the text)
    recorded = _digest_of(joined, inner)
    if eol != "\n":
        joined = eol.join(inner)
    end_mark = f"{END_MARK_PREFIX} (sha256:{recorded}) <<<"
    return f"{BEGIN_MARK}{eol}{joined}{eol}{end_mark}{eol}", inner, recorded


@dataclass(frozen=True)
class Section:
    """Where the managed section is: character offsets and line numbers (1-based)."""

    start: int  # offset of the begin marker line
    end: int  # offset just after the end marker line (and its line ending)
    begin_line: int
    end_line: int
    body: tuple[str, ...]  # lines between the markers, without line endings
    recorded_digest: str

    @property
    def hand_edited(self) -> bool:
        return digest(self.body) != self.recorded_digest


@dataclass(frozen=True)
class ConfigDoc:
    """The user's ssh config, decoded losslessly (UTF-8 with surrogateescape)."""

    text: str
    eol: str
    section: Section | None
    exists: bool = True

    def encode(self) -> bytes:
        return self.text.encode("utf-8", "surrogateescape")


def decode(data: bytes | None) -> ConfigDoc:
    """Parse file bytes (``None`` for a missing file) into a ConfigDoc; find the section."""
    if data is None:
        return ConfigDoc("", "\n", None, exists=False)
    return from_text(data.decode("utf-8", "surrogateescape"))


def from_text(text: str) -> ConfigDoc:
    """``decode(text.encode("utf-8", "surrogateescape"))``, without the two copies."""
    return ConfigDoc(text, _eol(text), _find_section(text))


def _eol(text: str) -> str:
    """The file's line ending: that of its first line."""
    first_nl = text.find("\n")
    return "\r\n" if first_nl > 0 and text[first_nl - 1] == "\r" else "\n"


def _iter_lines(
    text: str, start: int = 0, end: int | None = None
) -> Iterator[tuple[int, int, str]]:
    """(offset, offset after the line ending, line without ``\\n``) for each line.

    Only ``\\n`` ends a line, as in OpenSSH's getline(); a ``\\r`` stays on the line.
    """
    pos = start
    n = len(text) if end is None else end
    while pos < n:
        nl = text.find("\n", pos, n)
        if nl < 0:
            yield pos, n, text[pos:]
            return
        yield pos, nl + 1, text[pos:nl]
        pos = nl + 1


def _find_section(text: str) -> Section | None:
    begin = text.find(BEGIN_MARK)
    if begin < 0:
        if END_MARK_PREFIX in text:
            line = text.count("\n", 0, text.find(END_MARK_PREFIX)) + 1
            msg = f"line {line} has sshjup's end marker but there is no start marker before it"
            raise ConfigParseError(msg, hint=_DAMAGED_HINT)
        return None
    if begin > 0 and text[begin - 1] != "\n":
        line = text.count("\n", 0, begin) + 1
        msg = f"line {line}: sshjup's start marker must be on a line of its own"
        raise ConfigParseError(msg, hint=_DAMAGED_HINT)
    if text.find(BEGIN_MARK, begin + len(BEGIN_MARK)) >= 0:
        msg = "the file has more than one sshjup start marker"
        raise ConfigParseError(msg, hint=_DAMAGED_HINT)
    begin_line = text.count("\n", 0, begin) + 1
    # Only a line holding END_MARK_PREFIX can end the section or be a damaged marker (a second
    # BEGIN_MARK was refused above): jump from one to the next instead of reading every line.
    first = text.find("\n", begin) + 1  # the line after the begin marker
    search = first
    while first and (hit := text.find(END_MARK_PREFIX, search)) >= 0:
        start = text.rfind("\n", 0, hit) + 1
        end = text.find("\n", hit)
        after = len(text) if end < 0 else end + 1
        content = text[start : after if end < 0 else end].rstrip("\r")
        match = _END_RE.fullmatch(content.strip())
        if match or content.startswith(END_MARK_PREFIX):
            number = begin_line + 1 + text.count("\n", first, start)
            if not match:
                msg = f"line {number}: sshjup's end marker is damaged"
                raise ConfigParseError(msg, hint=_DAMAGED_HINT)
            inner = text[first:start]
            lines = inner.split("\n")[:-1]
            body = tuple(line.rstrip("\r") for line in lines) if "\r" in inner else tuple(lines)
            return Section(begin, after, begin_line, number, body, match.group(1))
        search = after  # the prefix inside an ordinary line of the section
    msg = f"line {begin_line} starts sshjup's section, but its end marker is missing"
    raise ConfigParseError(msg, hint=_DAMAGED_HINT)


_DAMAGED_HINT = (
    "restore the file from its backup (<config>.sshjup.bak), or delete sshjup's marker lines "
    "and the Host jup-* blocks between them, then run `sshjup apply` to write them again"
)


def _is_blank(line: str) -> bool:
    return line.strip(" \t\r\f") == ""


def _is_comment(line: str) -> bool:
    return line.lstrip(" \t").startswith("#")


def insertion_offset(text: str) -> int:
    """Where a new section goes: after a leading comment header, before anything else.

    The header is the leading run of comment and blank lines, up to its last blank line, so
    a comment that sits directly above the first directive stays with it.
    """
    best = 0
    for _, after, line in _iter_lines(text):
        if _is_blank(line):
            if after <= len(text) and text[after - 1 : after] == "\n":
                best = after
            continue
        if not _is_comment(line):
            break
    return best


def _needs_terminator(text: str, offset: int) -> bool:
    """True when the first directive after ``offset`` is not Host or Match (so it is global)."""
    for _, _, line in _iter_lines(text, offset):
        if _is_blank(line) or _is_comment(line):
            continue
        keyword, _ = split_keyword(line)
        return keyword.lower() not in {"host", "match"}
    return False


def plan_text(doc: ConfigDoc, body: Sequence[str]) -> str:
    """The whole new file text with the section holding ``body`` (removed when empty)."""
    return plan(doc, body).text


def section_start(doc: ConfigDoc) -> int:
    """Where :func:`plan` puts the section's begin marker: where it is, or where a new one goes."""
    return doc.section.start if doc.section is not None else insertion_offset(doc.text)


def plan(doc: ConfigDoc, body: Sequence[str]) -> ConfigDoc:
    """The file with the section holding ``body`` (removed when empty): ``from_text`` of the
    new text, without reading it again (the section is where it was put). The new text is the
    old one up to :func:`section_start`, then ``BEGIN_MARK``, a line ending and the lines of
    ``body`` (each line ending the file's own), then the rest of the section and the file."""
    start = section_start(doc)
    if doc.section is not None:
        end, begin_line = doc.section.end, doc.section.begin_line
    else:
        end, begin_line = start, doc.text.count("\n", 0, start) + 1
    text = doc.text
    if not body:
        new = text.replace(text[start:end], "", 1) if start != end else text
        return ConfigDoc(new, _eol(new), None)
    section, inner, recorded = _section(body, terminator=_needs_terminator(text, end), eol=doc.eol)
    # One replace makes the new text without copying the rest of the file first (as slicing
    # it would: a large file would be held three times). The section's text is the first
    # occurrence of itself (its start marker occurs once), and so is the file's beginning.
    if start != end:
        new = text.replace(text[start:end], section, 1)
    elif start == 0:
        new = section + text
    else:
        head = text[:start]
        new = text.replace(head, head + section, 1)
    where = Section(
        start, start + len(section), begin_line, begin_line + len(inner) + 1, inner, recorded
    )
    return ConfigDoc(new, _eol(new), where)


def current_section_text(doc: ConfigDoc) -> str:
    if doc.section is None:
        return ""
    return doc.text[doc.section.start : doc.section.end]


# --- reading the user's directives (OpenSSH's own tokenising rules) ---------------------------

_WS = " \t\r\n\f"


def split_keyword(line: str) -> tuple[str, str]:
    """(keyword, rest) the way readconf.c splits a line: whitespace, or one optional ``=``."""
    s = line.strip(_WS)
    if not s:
        return "", ""
    j = 0
    while j < len(s) and s[j] not in _WS and s[j] != "=":
        j += 1
    keyword, rest = s[:j], s[j:].lstrip(_WS)
    if rest.startswith("="):
        rest = rest[1:].lstrip(_WS)
    return keyword, rest


def split_args(rest: str) -> list[str] | None:
    """Arguments as OpenSSH's argv_split(terminate_on_comment=1) sees them; None on bad quotes."""
    out: list[str] = []
    i, n = 0, len(rest)
    while i < n:
        if rest[i] in " \t":
            i += 1
            continue
        if rest[i] == "#":
            break
        quote = ""
        arg: list[str] = []
        while i < n:
            c = rest[i]
            nxt = rest[i + 1] if i + 1 < n else ""
            if c == "\\" and ((nxt in "'\"\\" and nxt) or (not quote and nxt == " ")):
                arg.append(nxt)
                i += 2
                continue
            if not quote and c in " \t":
                break
            if not quote and c in "\"'":
                quote = c
            elif quote and c == quote:
                quote = ""
            else:
                arg.append(c)
            i += 1
        if quote:
            return None
        out.append("".join(arg))
    return out


_HOST_LINE_RE = re.compile(r"^[ \t]*(host|match|include)(?=[ \t=])(.*)$", re.IGNORECASE | re.M)


@dataclass(frozen=True)
class Directive:
    """One Host, Match or Include line of the user's file, outside sshjup's section."""

    keyword: str  # lower case
    args: tuple[str, ...]
    line: int  # 1-based
    text: str


def scan_directives(doc: ConfigDoc) -> list[Directive]:
    """Every Host, Match and Include line outside the section, in file order.

    One regular-expression pass over the text: fast on a 60,000-line file.
    """
    text = doc.text
    found: list[Directive] = []
    skip = (doc.section.start, doc.section.end) if doc.section else (-1, -1)
    line_no, last = 1, 0
    for m in _HOST_LINE_RE.finditer(text):
        if skip[0] <= m.start() < skip[1]:
            continue
        line_no += text.count("\n", last, m.start())
        last = m.start()
        keyword, rest = split_keyword(m.group(0))
        args = split_args(rest) or []
        found.append(Directive(keyword.lower(), tuple(args), line_no, m.group(0).rstrip("\r")))
    return found


def concrete_aliases(directives: Iterable[Directive]) -> dict[str, int]:
    """Host arguments without wildcards or negation, with the line of their first use."""
    out: dict[str, int] = {}
    for d in directives:
        if d.keyword != "host":
            continue
        for pattern in d.args:
            if pattern and not pattern.startswith("!") and not any(c in pattern for c in "*?"):
                out.setdefault(pattern, d.line)
    return out


def include_args(directives: Iterable[Directive]) -> list[str]:
    return [a for d in directives if d.keyword == "include" for a in d.args]


# A quick substring test rules out most lookups on a large file before the line-by-line scan
# (about 60 ms on 10,000 Host blocks). It is exact: an argument's value is its text in the file
# with some quotes and backslashes removed, so a value without those characters that does not
# occur in the file's text with every quote and backslash removed is no argument of the file.
_QUOTING = ("\\", '"', "'")
_FEW_ALIASES = 16


def _outside_section(doc: ConfigDoc) -> str:
    if doc.section is None:
        return doc.text
    return doc.text[: doc.section.start] + doc.text[doc.section.end :]


def _occurs_outside_section(doc: ConfigDoc, needle: str) -> bool:
    """``needle in _outside_section(doc)`` without the copy, for a needle that is no more
    than a line: the section is whole lines, so no line of the file crosses its edges."""
    if doc.section is None:
        return needle in doc.text
    return (
        doc.text.find(needle, 0, doc.section.start) >= 0
        or doc.text.find(needle, doc.section.end) >= 0
    )


_INCLUDE = "include"
_SCAN_CHUNK = 1 << 16


def _has_include_word(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` holds ``include`` in any mix of case."""
    return _has_word(text, start, end, (_INCLUDE,))


def _has_word(text: str, start: int, end: int, words: Sequence[str]) -> bool:
    """Whether ``text[start:end]`` holds one of ``words`` (lower case) in any mix of case
    (OpenSSH compares keywords case-insensitively, ASCII only). A case-insensitive regular
    expression takes about 15 ms on 1 MB; lower-casing a piece at a time (the pieces overlap by
    the longest word's length, so no occurrence is cut) takes well under 1 ms, and copies no
    more than a piece."""
    overlap = max(map(len, words)) - 1
    for i in range(start, end, _SCAN_CHUNK):
        piece = text[i : min(i + _SCAN_CHUNK + overlap, end)].lower()
        if any(word in piece for word in words):
            return True
    return False


def _common_prefix(words: Collection[str]) -> str:
    first, last = min(words), max(words)
    n = 0
    while n < min(len(first), len(last)) and first[n] == last[n]:
        n += 1
    return first[:n]


def defined_aliases(doc: ConfigDoc, aliases: Collection[str]) -> dict[str, int]:
    """``concrete_aliases(scan_directives(doc))`` for ``aliases`` only (each with its line)."""
    if not aliases:
        return {}
    needles = list(aliases) if len(aliases) <= _FEW_ALIASES else [_common_prefix(aliases)]
    if all(n and "\n" not in n and not any(q in n for q in _QUOTING) for n in needles):
        if any(_occurs_outside_section(doc, q) for q in _QUOTING):
            plain = _outside_section(doc)
            for q in _QUOTING:
                if q in plain:  # (cheaper than a replace that finds nothing)
                    plain = plain.replace(q, "")
            found_any = any(n in plain for n in needles)
        else:  # (nothing to remove: look in the text itself, without copying it)
            found_any = any(_occurs_outside_section(doc, n) for n in needles)
        if not found_any:
            return {}
    found = concrete_aliases(scan_directives(doc))
    return {a: found[a] for a in aliases if a in found}


def file_include_args(doc: ConfigDoc) -> list[str]:
    """``include_args(scan_directives(doc))``; no scan when the text has no word ``include``."""
    text, section = doc.text, doc.section
    spans = [(0, len(text))] if section is None else [(0, section.start), (section.end, len(text))]
    if not any(_has_include_word(text, a, b) for a, b in spans):
        return []
    return include_args(scan_directives(doc))


def pattern_matches(pattern: str, name: str) -> bool:
    """OpenSSH's match_pattern: ``*`` and ``?`` wildcards, case-sensitive for Host."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, name, re.DOTALL) is not None


def host_line_matches(args: Sequence[str], alias: str) -> bool:
    """A Host line applies when some pattern matches and no negated pattern does."""
    positive = False
    for pattern in args:
        if pattern.startswith("!"):
            if pattern_matches(pattern[1:], alias):
                return False
        elif pattern_matches(pattern, alias):
            positive = True
    return positive


@dataclass(frozen=True)
class Override:
    """A line before sshjup's section that sets an option for an alias first."""

    keyword: str
    value: str
    line: int
    context: str  # "global", the Host line, or the Match line
    context_line: int
    certain: bool  # False under a Match block (sshjup cannot evaluate Match criteria)


def earlier_settings(doc: ConfigDoc, alias: str, keywords: Iterable[str]) -> list[Override]:
    """Lines above the section that set one of ``keywords`` for ``alias`` (first one each).

    Used to explain an ``ssh -G`` mismatch: OpenSSH keeps the first value it obtains.
    """
    wanted = {k.lower() for k in keywords}
    stop = doc.section.start if doc.section else insertion_offset(doc.text)
    found: dict[str, Override] = {}
    active, certain, context, context_line = True, True, "global", 0
    for number, (_, _, raw) in enumerate(_iter_lines(doc.text[:stop]), start=1):
        keyword, rest = split_keyword(raw)
        key = keyword.lower()
        if not key or key.startswith("#"):
            continue
        if key == "host":
            active = host_line_matches(split_args(rest) or [], alias)
            certain, context, context_line = True, raw.strip(), number
        elif key == "match":
            active, certain, context, context_line = True, False, raw.strip(), number
            if (split_args(rest) or [""])[0].lower() == "all":
                certain = True
        elif active and key in wanted and key not in found:
            found[key] = Override(key, rest, number, context, context_line, certain)
    return list(found.values())


# What lines outside sshjup's section can do to the values sshjup checks for its aliases.
# OpenSSH keeps the first HostName, User and Port it obtains, so only lines above the section
# can set those; LocalForward lines add up across every matching block, above or below. Match
# and Include, and CanonicalizeHostname (ssh then reads the file again for the canonical name),
# need ssh itself to judge.
_FIRST_VALUE_KEYS = frozenset({"hostname", "user", "port"})
_ADDS_UP_KEYS = frozenset({"localforward"})
_UNJUDGED_KEYS = frozenset({"match", "include", "canonicalizehostname"})
_BELOW_WORDS = tuple(sorted(_ADDS_UP_KEYS | _UNJUDGED_KEYS))  # (what matters below it)
_UNJUDGED_WORDS = tuple(sorted(_UNJUDGED_KEYS))
_WILDCARDS = ("*", "?", "!")


@dataclass(frozen=True)
class Influence:
    """What the lines outside sshjup's section may set for a set of its aliases."""

    unjudged: bool  # a Match, Include or CanonicalizeHostname outside: only ssh can tell
    exposed: frozenset[str]  # aliases a global line or Host block outside sets a checked value for


def read_once(doc: ConfigDoc) -> bool:
    """Whether ``ssh`` reads this file once and no other: no line outside the section may be
    a Match (``Match final`` and ``Match canonical`` make ssh read the file again), an Include
    or CanonicalizeHostname (found as words anywhere outside, comments and values too, so a
    false answer may be a needless one; the section has none of them)."""
    text, section = doc.text, doc.section
    spans = [(0, len(text))] if section is None else [(0, section.start), (section.end, len(text))]
    return not any(_has_word(text, a, b, _UNJUDGED_WORDS) for a, b in spans)


def outside_influence(doc: ConfigDoc, aliases: Collection[str]) -> Influence:
    """Which of ``aliases`` a line outside the section may set a HostName, User, Port or
    LocalForward for (as :func:`earlier_settings` reads the lines, for all aliases at once).

    The text below the section is read only when it holds one of the keywords that can matter
    there (a large config below the section is not scanned line by line)."""
    text, section = doc.text, doc.section
    above = section.start if section is not None else insertion_offset(text)
    below = section.end if section is not None else above
    names, exposed = set(aliases), set[str]()
    wanted_above = _FIRST_VALUE_KEYS | _ADDS_UP_KEYS
    unjudged = _scan_influence(text, 0, above, wanted_above, names, exposed)
    if not unjudged and _has_word(text, below, len(text), _BELOW_WORDS):
        unjudged = _scan_influence(text, below, len(text), _ADDS_UP_KEYS, names, exposed)
    return Influence(unjudged, frozenset(exposed))


def _scan_influence(
    text: str,
    start: int,
    end: int,
    wanted: frozenset[str],
    aliases: set[str],
    exposed: set[str],
) -> bool:
    """Add to ``exposed`` the aliases that a line of ``text[start:end]`` sets one of ``wanted``
    for; True (and stop) at the first line only ssh can judge."""
    patterns: list[str] | None = None  # None: the global lines before the first Host
    judged = False  # the current block's aliases are in ``exposed`` already
    for _, _, raw in _iter_lines(text, start, end):
        keyword, rest = split_keyword(raw)
        key = keyword.lower()
        if not key or key.startswith("#"):
            continue
        if key in _UNJUDGED_KEYS:
            return True
        if key == "host":
            patterns, judged = split_args(rest), False
            if patterns is None:
                return True  # (bad quoting: ssh -G says what is wrong)
        elif key in wanted and not judged:
            judged = True
            if patterns is None:
                exposed.update(aliases)
            elif any(c in p for p in patterns for c in _WILDCARDS):
                exposed.update(a for a in aliases if host_line_matches(patterns, a))
            else:
                exposed.update(a for a in patterns if a in aliases)
    return False


# --- reading sshjup's own section back (sshconf is right for this text) -----------------------


@dataclass(frozen=True)
class SectionHost:
    """One Host block of sshjup's section: its alias and options (lower-case keys)."""

    alias: str
    options: dict[str, list[str]] = field(default_factory=dict)


def parse_section(body: Sequence[str]) -> list[SectionHost]:
    """The Host blocks in sshjup's section, via sshconf (lower-cased keys, values as lists)."""
    import sshconf  # noqa: PLC0415 (kept off the start-up path of commands that never need it)

    parsed = sshconf.SshConfigFile(list(body))
    hosts: list[SectionHost] = []
    for pattern in parsed.hosts():
        options = parsed.host(pattern)
        hosts.append(
            SectionHost(
                pattern,
                {k: (v if isinstance(v, list) else [v]) for k, v in options.items()},
            )
        )
    return hosts


def managed_aliases(doc: ConfigDoc) -> list[str]:
    if doc.section is None:
        return []
    return [
        line.split(None, 1)[1].strip()
        for line in doc.section.body
        if line.startswith("Host ") and line.split(None, 1)[1].startswith(ALIAS_PREFIX)
    ]


__all__ = [
    "BEGIN_MARK",
    "END_MARK_PREFIX",
    "TERMINATOR",
    "Capabilities",
    "ConfigDoc",
    "Directive",
    "Override",
    "Section",
    "SectionHost",
    "concrete_aliases",
    "control_path",
    "control_socket_name",
    "current_section_text",
    "decode",
    "defined_aliases",
    "digest",
    "earlier_settings",
    "file_include_args",
    "from_text",
    "host_line_matches",
    "include_args",
    "insertion_offset",
    "managed_aliases",
    "parse_section",
    "pattern_matches",
    "plan",
    "plan_text",
    "read_once",
    "render_block",
    "render_body",
    "render_companion",
    "render_section",
    "scan_directives",
    "section_start",
    "split_args",
    "split_keyword",
]
