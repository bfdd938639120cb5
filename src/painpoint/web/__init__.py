"""The web app: Chainlit handlers, the desks, the database, serving and the load driver."""
