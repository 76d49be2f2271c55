"""Wake-ups for long-polling /sync: who must look again, and from which position."""
