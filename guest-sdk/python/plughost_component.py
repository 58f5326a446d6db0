"""What componentize-py builds: the module's app.py, with a default for each handler it does
not define (see _defaults)."""

import app

from plughost import _defaults

HttpHandler = getattr(app, "HttpHandler", _defaults.HttpHandler)
EventHandler = getattr(app, "EventHandler", _defaults.EventHandler)
JobHandler = getattr(app, "JobHandler", _defaults.JobHandler)
WsHandler = getattr(app, "WsHandler", _defaults.WsHandler)
