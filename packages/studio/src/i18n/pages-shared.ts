// Words the pages of studio-pages share (withdrawals, treasury, developers, team, settings,
// links, audit, operator).

export const pagesSharedEn = {
  actions: "Actions",
  edit: "Edit",
  copyLabel: "Copy {what}",
  secretOnceWarning: "Copy it now: you will not see it again.",
  limitsEmptyHelp: "Leave empty for no limit.",
};

export const pagesSharedZhTW: typeof pagesSharedEn = {
  actions: "操作",
  edit: "編輯",
  copyLabel: "複製{what}",
  secretOnceWarning: "請立即複製：之後將無法再次查看。",
  limitsEmptyHelp: "留空表示不設上限。",
};
