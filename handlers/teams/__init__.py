"""Microsoft Teams: Adaptive Card rendering (pure), card-action parsing (pure), and transport.

Importing it makes botbuilder read the Bot Connector's signing keys off the event loop
(``signing_keys``), for every use of botbuilder in the process.
"""

from handlers.teams.signing_keys import install

install()
