"""The web adapter: the supervisors' console and the Open311 GeoReport v2 API, over the services in cases/."""
