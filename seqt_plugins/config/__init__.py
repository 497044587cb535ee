"""Configuration: one schema per module drives the cfg defaults, the description XML, the
command line and the validation (see :mod:`.schema`, :mod:`.layering`)."""

from .errors import ConfigError  # noqa: F401
from .schema import ModuleSchema, Option, Parameter, camel_case, parameters_from_dataclass  # noqa: F401
from .layering import Bindings, Configuration, config_files, load_configuration  # noqa: F401
from .modules import all_schemas, module_schema  # noqa: F401
