"""``@dataclass``, ``field``, ``replace`` and ``asdict`` for sshjup's records, without the
``dataclasses`` module at run time.

Every command starts a fresh interpreter, and ``dataclasses`` costs each one more than it
gives: importing it imports ``inspect`` (with ``ast``, ``dis`` and ``tokenize``), and each class
it makes runs ``exec`` once per generated method. sshjup's start-up path makes about twenty
records, and ``dataclasses`` cost ``sshjup add`` about 15 ms of its 100 (bench/README.md).
This module makes the same classes from one ``exec`` per class.

Type checkers see the real ``dataclasses`` (``TYPE_CHECKING`` below), so mypy checks the
records exactly as before. At run time the subset sshjup uses is supported, with the same
behaviour (tests/test_records.py compares both on every point):

* ``@dataclass`` and ``@dataclass(frozen=True)``: ``__init__`` (positional and keyword, in
  field order, base records' fields first), ``__post_init__``, ``__repr__``, ``__eq__``
  (the same class, field by field), ``__hash__`` (frozen: of the fields; else unhashable),
  ``__match_args__``, and for a frozen record a ``__setattr__``/``__delattr__`` that raise
  :class:`FrozenInstanceError` (an ``AttributeError``, as the real one is);
* ``field(default=...)``, ``field(default_factory=...)``, ``field(repr=False)``;
* ``replace(record, **changes)``, ``asdict(record)`` and ``fields(record)`` (each field's
  ``name``).

Anything else (``ClassVar`` or ``InitVar`` fields, ``order=True``, ``slots=True``,
``kw_only``) is refused when the class is made, so it cannot silently differ.
"""

from __future__ import annotations

TYPE_CHECKING = False  # (mypy takes it as True: it checks the real dataclasses)
if TYPE_CHECKING:
    from dataclasses import asdict, dataclass, field, fields, replace
else:
    from operator import attrgetter as _attrgetter

    class FrozenInstanceError(AttributeError):
        """Assigning to a field of a frozen record."""

    class _Missing:
        __slots__ = ()

        def __repr__(self):
            return "MISSING"

    MISSING = _Missing()

    class _Field:
        __slots__ = ("default", "default_factory", "name", "repr")

        def __init__(self, default, default_factory, repr_):
            self.default = default
            self.default_factory = default_factory
            self.repr = repr_
            self.name = ""

    def field(*, default=MISSING, default_factory=MISSING, repr=True, **unsupported):
        """A field with a default, a default factory, or left out of ``repr``."""
        if unsupported:
            msg = f"sshjup.records.field does not take {sorted(unsupported)}"
            raise TypeError(msg)
        if default is not MISSING and default_factory is not MISSING:
            msg = "cannot specify both default and default_factory"
            raise ValueError(msg)
        return _Field(default, default_factory, repr)

    def dataclass(cls=None, /, *, frozen=False, **unsupported):
        """Make ``cls`` a record (see the module's docstring for what is supported)."""
        if unsupported:
            msg = f"sshjup.records.dataclass does not take {sorted(unsupported)}"
            raise TypeError(msg)

        def wrap(cls):
            return _make(cls, frozen)

        return wrap if cls is None else wrap(cls)

    def _make(cls, frozen):
        fields = {}
        for base in reversed(cls.__mro__[1:]):
            fields.update({f.name: f for f in getattr(base, "__record_fields__", ())})
        for name, annotation in cls.__dict__.get("__annotations__", {}).items():  # noqa: RUF063
            text = annotation if isinstance(annotation, str) else repr(annotation)
            if "ClassVar" in text or "InitVar" in text or "KW_ONLY" in text:
                msg = f"{cls.__qualname__}.{name}: not supported by sshjup.records"
                raise TypeError(msg)
            value = cls.__dict__.get(name, MISSING)
            spec = value if isinstance(value, _Field) else _Field(value, MISSING, True)
            spec.name = name
            if isinstance(value, _Field):
                if value.default is MISSING:
                    delattr(cls, name)
                else:
                    setattr(cls, name, value.default)
            fields.pop(name, None)
            fields[name] = spec
        order = list(fields.values())
        seen_default = False
        for spec in order:
            has_default = spec.default is not MISSING or spec.default_factory is not MISSING
            if seen_default and not has_default:
                msg = f"non-default argument {spec.name!r} follows default argument"
                raise TypeError(msg)
            seen_default = seen_default or has_default
        names = [spec.name for spec in order]
        env = {"MISSING": MISSING}
        params, body, values = [], [], []
        for spec in order:
            if spec.default is not MISSING:
                env[f"__default_{spec.name}"] = spec.default
                params.append(f"{spec.name}=__default_{spec.name}")
                value = spec.name
            elif spec.default_factory is not MISSING:
                env[f"__factory_{spec.name}"] = spec.default_factory
                params.append(f"{spec.name}=MISSING")
                value = f"__factory_{spec.name}() if {spec.name} is MISSING else {spec.name}"
            else:
                params.append(spec.name)
                value = spec.name
            if frozen:
                values.append(f"{spec.name!r}: {value}")
            else:
                body.append(f"  self.{spec.name} = {value}")
        if values:  # (a frozen record's fields at once: its __setattr__ refuses them)
            body.append(f"  self.__dict__.update({{{', '.join(values)}}})")
        if hasattr(cls, "__post_init__"):
            body.append("  self.__post_init__()")
        source = [f"def __init__(self, {', '.join(params)}):", *(body or ["  pass"])]
        namespace = _methods(names, [spec.name for spec in order if spec.repr])
        # (Only __init__ is made from text, for its signature and speed: each exec costs about
        # 0.3 ms for a record of ten fields, and the other methods were three times that.)
        exec("\n".join(source), env, namespace)  # noqa: S102 (the text is made from field names)
        for method in ("__init__", "__repr__", "__eq__"):
            if method not in cls.__dict__:
                function = namespace[method]
                function.__qualname__ = f"{cls.__qualname__}.{method}"
                setattr(cls, method, function)
        if "__hash__" not in cls.__dict__ or cls.__dict__["__hash__"] is None:
            namespace["__hash__"].__qualname__ = f"{cls.__qualname__}.__hash__"
            cls.__hash__ = namespace["__hash__"] if frozen else None
        if frozen:
            cls.__setattr__ = _frozen_setattr
            cls.__delattr__ = _frozen_delattr
        cls.__record_fields__ = tuple(order)
        cls.__match_args__ = tuple(names)
        return cls

    def _methods(names, shown):
        """``__repr__``, ``__eq__`` and ``__hash__`` of a record with the fields ``names``
        (``shown`` in its repr): the tuple of its fields compared and hashed, as dataclasses
        does."""
        if len(names) > 1:
            values = _attrgetter(*names)  # (a tuple of them, read in C)
        elif names:
            (only,) = names

            def values(record):
                return (getattr(record, only),)
        else:

            def values(record):
                return ()

        def __repr__(self):
            inside = ", ".join(f"{name}={getattr(self, name)!r}" for name in shown)
            return f"{self.__class__.__qualname__}({inside})"

        def __eq__(self, other):
            if other.__class__ is self.__class__:
                return values(self) == values(other)
            return NotImplemented

        def __hash__(self):
            return hash(values(self))

        return {"__repr__": __repr__, "__eq__": __eq__, "__hash__": __hash__}

    def _frozen_setattr(self, name, value):
        msg = f"cannot assign to field {name!r}"
        raise FrozenInstanceError(msg)

    def _frozen_delattr(self, name):
        msg = f"cannot delete field {name!r}"
        raise FrozenInstanceError(msg)

    def replace(obj, /, **changes):
        """A copy of the record ``obj`` with ``changes``, through ``__init__``."""
        specs = getattr(type(obj), "__record_fields__", None)
        if specs is None:
            msg = "replace() should be called on dataclass instances"
            raise TypeError(msg)
        values = {spec.name: getattr(obj, spec.name) for spec in specs}
        unknown = set(changes) - set(values)
        if unknown:
            name = sorted(unknown)[0]
            msg = f"__init__() got an unexpected keyword argument {name!r}"
            raise TypeError(msg)
        values.update(changes)
        return type(obj)(**values)

    def fields(class_or_instance):
        """The record's fields, in order (each with its ``name``)."""
        specs = getattr(class_or_instance, "__record_fields__", None)
        if specs is None:
            msg = "must be called with a dataclass type or instance"
            raise TypeError(msg)
        return specs

    def asdict(obj):
        """The record ``obj`` as a dict, records, lists, tuples and dicts inside it too."""
        if getattr(type(obj), "__record_fields__", None) is None:
            msg = "asdict() should be called on dataclass instances"
            raise TypeError(msg)
        return _asdict(obj)

    def _asdict(value):
        specs = getattr(type(value), "__record_fields__", None)
        if specs is not None:
            return {spec.name: _asdict(getattr(value, spec.name)) for spec in specs}
        if isinstance(value, tuple) and hasattr(value, "_fields"):
            return type(value)(*[_asdict(v) for v in value])
        if isinstance(value, (list, tuple)):
            return type(value)(_asdict(v) for v in value)
        if isinstance(value, dict):
            return type(value)((_asdict(k), _asdict(v)) for k, v in value.items())
        import copy  # noqa: PLC0415 (as dataclasses.asdict: other values are deep-copied)

        return copy.deepcopy(value)


__all__ = ["asdict", "dataclass", "field", "fields", "replace"]
