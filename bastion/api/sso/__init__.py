"""Single sign-on's browser side: /login/sso/redirect and the IdP's callback, and the few
pages a person sees on the way (services/sso/ holds the logic)."""
