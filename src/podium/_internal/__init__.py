"""Small shared helpers; imports no other part of podium."""
