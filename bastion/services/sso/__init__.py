"""Single sign-on through OpenID Connect (spec: client-server-api#sso-client-loginauthentication).

`flow.py` runs a sign-in: /login/sso/redirect starts it, the IdP's callback finishes it with a
login token; `provider.py` talks to the IdP (discovery, keys, the code exchange), `id_token.py`
checks what it answers, `redirects.py` decides where the token may go, `login_tokens.py` issues
and takes the tokens `POST /login` (`m.login.token`, services/login.py) exchanges.
"""
