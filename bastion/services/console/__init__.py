"""The admin console's logic: sessions (sign-in, sign-out) and the dashboard's figures."""
