import { type Translate, useI18n } from "../i18n/index.tsx";
import { Button, errorMessage, fieldError } from "./ui.tsx";

/** A dialog form's buttons: Cancel, and the submit button (busy while the request runs). */
export function DialogActions({
  onCancel,
  submitLabel,
  isPending,
  variant = "primary",
}: {
  onCancel(): void;
  submitLabel: string;
  isPending: boolean;
  variant?: "primary" | "danger";
}) {
  const { t } = useI18n();
  return (
    <div className="dialog-actions">
      <Button variant="ghost" onPress={onCancel}>
        {t("cancel")}
      </Button>
      <Button type="submit" variant={variant} isPending={isPending}>
        {submitLabel}
      </Button>
    </div>
  );
}

/**
 * The message of a failed request that is about none of a form's fields (those show under their
 * field), or null.
 */
export function otherError(error: unknown, fields: readonly string[], t: Translate): string | null {
  return error && !fields.some((f) => fieldError(error, f)) ? errorMessage(error, t) : null;
}
