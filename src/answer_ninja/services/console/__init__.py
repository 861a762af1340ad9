"""console (port 3006): the browser face for people and operators, and the public status page.

It owns no business data: every page is built from the other services' public APIs, called with the signed-in
person's own access token (so each service's own access rules decide what the person may see), and the status
page from the responder's operational API.
"""
