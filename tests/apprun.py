"""Running a module's Application in-process with captured output (test helper)."""

import io


class Stdout(io.StringIO):
    """A text stdout with a binary ``buffer``, as sys.stdout has (XML goes to the buffer)."""

    def __init__(self):
        super().__init__()
        self.buffer = io.BytesIO()


def run_app(cls, argv):
    """(exit code, stdout object, stderr text) of ``cls(argv).exec()``."""
    out, err = Stdout(), io.StringIO()
    rc = cls(argv, stdout=out, stderr=err).exec()
    return rc, out, err.getvalue()


def stdout_text(out: Stdout) -> str:
    """Everything written to ``out``, text and bytes."""
    return out.getvalue() + out.buffer.getvalue().decode()
