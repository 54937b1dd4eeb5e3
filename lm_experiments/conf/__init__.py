"""The Hydra configs (a package, so that Hydra finds them in an installed wheel too)."""
