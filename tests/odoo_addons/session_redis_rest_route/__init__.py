from . import controllers, services
