"""The Telegram channel: the sender (``sender``), its HTML rendering (``render``), pacing
(``send_queue``), retry policy (``policy``), the PTB request backends (``request``,
``console_request``) and start-up checks (``startup``). The one notify package that
imports ``telegram``."""
