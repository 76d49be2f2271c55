"""What /sync carries beside the timeline: typing notifications and read receipts."""
