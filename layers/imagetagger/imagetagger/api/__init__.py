"""HTTP API: Powertools routers shared by the presign and api functions, and the OpenAPI document."""
