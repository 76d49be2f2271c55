"""Push rules and notifications: the /pushrules API, what each new event means for each member
(recorded with the event), unread counts for /sync and the /notifications list."""
