import { auditEn, auditZhTW } from "./audit.ts";
import { developersEn, developersZhTW } from "./developers.ts";
import { linksEn, linksZhTW } from "./links.ts";
import { operatorEn, operatorZhTW } from "./operator.ts";
import { pagesSharedEn, pagesSharedZhTW } from "./pages-shared.ts";
import { paymentsEn, paymentsZhTW } from "./payments.ts";
import { settingsEn, settingsZhTW } from "./settings.ts";
import { shellEn, shellZhTW } from "./shell.ts";
import { teamEn, teamZhTW } from "./team.ts";
import { treasuryEn, treasuryZhTW } from "./treasury.ts";
import { withdrawalsEn, withdrawalsZhTW } from "./withdrawals.ts";

// Every feature's messages, one line each per language. A key missing in a translation is a
// type error: each feature's zh-TW object is typed by its English one.
export const en = {
  ...shellEn,
  ...pagesSharedEn,
  ...withdrawalsEn,
  ...treasuryEn,
  ...developersEn,
  ...teamEn,
  ...settingsEn,
  ...linksEn,
  ...auditEn,
  ...operatorEn,
  ...paymentsEn,
};

export const zhTW: Messages = {
  ...shellZhTW,
  ...pagesSharedZhTW,
  ...withdrawalsZhTW,
  ...treasuryZhTW,
  ...developersZhTW,
  ...teamZhTW,
  ...settingsZhTW,
  ...linksZhTW,
  ...auditZhTW,
  ...operatorZhTW,
  ...paymentsZhTW,
};

export type Messages = typeof en;
export type MessageKey = keyof Messages;
