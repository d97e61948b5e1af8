"""geomap: French news articles in; toponyms, places, incidents and maps out."""

from geomap.models import Article, Incident, Mention, Place, Resolution

__all__ = ["Article", "Incident", "Mention", "Place", "Resolution", "__version__"]
__version__ = "0.1.0"
