"""The web side: the application factory, its blueprint and the request pipeline form -> validate -> seal."""
