import { ApiError } from "../api/client";

/** True for the API's 404: the thing asked for does not exist, and asking again every few seconds will not help. */
export function isNotFound(error: unknown): boolean {
  return error instanceof ApiError && error.status === 404;
}

/** How often to poll after the last answer: `ms`, or never (0) once the server said the thing does not exist or
 * once it is `finished` (nothing about it changes any more). */
export function pollEvery(ms: number, lastError: unknown, finished = false): number {
  return finished || isNotFound(lastError) ? 0 : ms;
}
