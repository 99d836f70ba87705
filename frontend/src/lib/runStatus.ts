import type { RunDetail, StatusChange } from "../api/types";
import { parseTime } from "./format";

/** Add a status change to the history (the stream replays old ones); the newest change sets the status. */
export function withStatusChange(r: RunDetail, ch: StatusChange): RunDetail {
  // compare instants, not strings: the stream and the REST body may format the same time differently
  const seen = r.history.some((h) => h.status === ch.status && parseTime(h.at) === parseTime(ch.at));
  const history = seen ? [...r.history] : [...r.history, ch];
  history.sort((a, b) => (parseTime(a.at) ?? 0) - (parseTime(b.at) ?? 0));
  return { ...r, history, status: history[history.length - 1].status };
}
