export const auditEn = {
  auditLead:
    "Every change made through Studio, the admin API or the command line. It cannot be edited.",
  auditWhen: "When",
  auditWho: "Who",
  auditWhat: "What",
  auditTarget: "Target",
  auditChanges: "Before → after",
  auditFrom: "From",
  auditNoChange: "No field changed",
  auditEmpty: "No changes recorded yet",
};

export const auditZhTW: typeof auditEn = {
  auditLead: "透過 Studio、管理 API 或命令列所做的每一項變更。紀錄無法修改。",
  auditWhen: "時間",
  auditWho: "操作者",
  auditWhat: "動作",
  auditTarget: "對象",
  auditChanges: "變更前 → 變更後",
  auditFrom: "來源 IP",
  auditNoChange: "沒有欄位變更",
  auditEmpty: "尚無變更紀錄",
};
