"""Looking at stars: plots of one star and the explorer web page."""
