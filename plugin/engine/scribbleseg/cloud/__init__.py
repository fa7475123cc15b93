"""Client of the InteractiveScribbleSegmentation protocol: a ScribbleSeg server or the vendor's.

    from scribbleseg.cloud import segment_via_cloud
    alpha = segment_via_cloud(request, endpoint="http://127.0.0.1:8080")

Modules: client.py (the call, start to finish), rpc.py (signed requests), upload.py (the
vendor's file upload flow), transport.py (time limits and retries), credentials.py (where the
AccessKey comes from), errors.py (CloudError).
"""

from scribbleseg.cloud.client import segment_via_cloud
from scribbleseg.cloud.credentials import Credentials
from scribbleseg.cloud.errors import CloudError
from scribbleseg.cloud.transport import RetryPolicy

__all__ = ["CloudError", "Credentials", "RetryPolicy", "segment_via_cloud"]
