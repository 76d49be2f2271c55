"""HTTP only: parse the request, call one service method, serialise the result."""
