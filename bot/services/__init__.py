"""Application services: the glue between the domain (`core`), the store and the front-ends."""
