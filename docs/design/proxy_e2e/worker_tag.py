"""A config-loaded callback: tags every response (200 and 429) with the serving worker's pid."""
import os

from litellm.integrations.custom_logger import CustomLogger

print(f"[worker_tag] imported pid={os.getpid()} ppid={os.getppid()}", flush=True)


class WorkerTag(CustomLogger):
    async def async_post_call_response_headers_hook(self, data, user_api_key_dict, response,
                                                    request_headers=None, litellm_call_info=None):
        return {"x-e2e-worker-pid": str(os.getpid()), "x-e2e-worker-ppid": str(os.getppid())}


handler = WorkerTag()

import multiprocessing as _mp
print(f"[worker_tag] mp.parent_process()={_mp.parent_process()} start_method={_mp.get_start_method(allow_none=True)} "
      f"NUM_WORKERS={os.environ.get('NUM_WORKERS')}", flush=True)
