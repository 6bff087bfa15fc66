from . import whoami
