import type { ReactNode } from "react";
import {
  Dialog,
  DialogTrigger,
  Heading,
  Modal,
  ModalOverlay,
  type ModalOverlayProps,
} from "react-aria-components";
import { useI18n } from "../i18n/index.tsx";
import { Button, errorMessage, Notice } from "./ui.tsx";

/**
 * A modal dialog opened by its trigger (focus moves in, Escape closes, focus returns). The body
 * gets `close` to call when done.
 *
 * @example
 * <ModalDialog title={t("teamInvite")} trigger={<Button variant="primary">{t("teamInvite")}</Button>}>
 *   {(close) => <InviteForm onDone={close} />}
 * </ModalDialog>
 */
export function ModalDialog({
  title,
  trigger,
  children,
  ...overlay
}: {
  title: string;
  trigger: ReactNode;
  children: (close: () => void) => ReactNode;
} & Pick<ModalOverlayProps, "isOpen" | "onOpenChange" | "isDismissable">) {
  return (
    <DialogTrigger>
      {trigger}
      <ModalOverlay className="modal-overlay" isDismissable={overlay.isDismissable ?? true}>
        <Modal className="modal">
          <Dialog className="dialog">
            {({ close }) => (
              <>
                <Heading slot="title" className="dialog-title">
                  {title}
                </Heading>
                {children(close)}
              </>
            )}
          </Dialog>
        </Modal>
      </ModalOverlay>
    </DialogTrigger>
  );
}

/**
 * A button that asks before doing something that cannot be undone; the dialog stays open with
 * the API's message when the action fails.
 */
export function ConfirmButton({
  label,
  title,
  body,
  confirmLabel,
  variant = "danger",
  onConfirm,
  isPending,
  error,
}: {
  label: string;
  title: string;
  body: ReactNode;
  confirmLabel?: string;
  variant?: "danger" | "primary";
  onConfirm(): Promise<unknown>;
  isPending?: boolean;
  error?: unknown;
}) {
  const { t } = useI18n();
  return (
    <ModalDialog
      title={title}
      trigger={<Button variant={variant === "danger" ? "secondary" : "primary"}>{label}</Button>}
    >
      {(close) => (
        <>
          <div className="dialog-body">{body}</div>
          {error ? <Notice tone="danger">{errorMessage(error, t)}</Notice> : null}
          <div className="dialog-actions">
            <Button variant="ghost" onPress={close}>
              {t("cancel")}
            </Button>
            <Button
              variant={variant}
              isPending={isPending}
              onPress={async () => {
                try {
                  await onConfirm();
                  close();
                } catch {
                  // The caller's mutation holds the error; the dialog shows it.
                }
              }}
            >
              {confirmLabel ?? t("confirm")}
            </Button>
          </div>
        </>
      )}
    </ModalDialog>
  );
}
