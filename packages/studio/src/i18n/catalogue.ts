import { paymentsEn, paymentsZhTW } from "./payments.ts";
import { shellEn, shellZhTW } from "./shell.ts";

// Every feature's messages, one line each per language. A key missing in a translation is a
// type error: each feature's zh-TW object is typed by its English one.
export const en = {
  ...shellEn,
  ...paymentsEn,
};

export const zhTW: Messages = {
  ...shellZhTW,
  ...paymentsZhTW,
};

export type Messages = typeof en;
export type MessageKey = keyof Messages;
