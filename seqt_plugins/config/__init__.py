"""Configuration: one schema per module drives the cfg defaults, the description XML, the
command line and the validation (see :mod:`.schema`, :mod:`.layering`). The modules' schemas,
which name the option groups, are :mod:`seqt_plugins.modules.schemas`."""

from .errors import ConfigError  # noqa: F401
from .schema import ModuleSchema, Option, OptionGroup, Parameter, camel_case, parameters_from_dataclass  # noqa: F401
from .layering import Bindings, Configuration, config_files, load_configuration  # noqa: F401
