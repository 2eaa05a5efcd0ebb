"""The local stack's own log lines reach `imagetagger up`'s output although Powertools is loaded in the process.

Powertools' Logger(service="imagetagger") adds a filter to the root logger's handlers that drops every record whose
logger name contains "imagetagger": through the root logger, `imagetagger_local.*` lines were silently lost.
"""

import logging

from aws_lambda_powertools import Logger

from imagetagger_cli.commands.up import STACK_LOGGERS, _log_to_stderr


def test_stack_log_lines_survive_the_powertools_root_filter(capsys):
    saved = {name: (logging.getLogger(name).handlers[:], logging.getLogger(name).propagate) for name in STACK_LOGGERS}
    try:
        _log_to_stderr(logging.INFO)
        Logger(service="imagetagger")  # what the Lambda handlers loaded by the stack do at import
        logging.getLogger("imagetagger_local.stack").info("stopped api in 0.1 s")
        logging.getLogger("imagetagger_local.worker").debug("not shown at INFO")
        err = capsys.readouterr().err
        assert "imagetagger_local.stack: stopped api in 0.1 s" in err
        assert "not shown" not in err
    finally:
        for name, (handlers, propagate) in saved.items():
            logging.getLogger(name).handlers = handlers
            logging.getLogger(name).propagate = propagate
