import type { ReactNode } from "react";
import { Checkbox as AriaCheckbox } from "react-aria-components";

/** A labelled checkbox (react-aria: keyboard, focus ring, screen reader state). */
export function Checkbox({
  isSelected,
  onChange,
  children,
  isDisabled,
}: {
  isSelected: boolean;
  onChange(value: boolean): void;
  children: ReactNode;
  isDisabled?: boolean;
}) {
  return (
    <AriaCheckbox
      className="checkbox"
      isSelected={isSelected}
      onChange={onChange}
      isDisabled={isDisabled}
    >
      <span className="checkbox-box" aria-hidden="true">
        <svg viewBox="0 0 18 18" aria-hidden="true">
          <polyline points="3.5 9.5 7.5 13 14.5 5" />
        </svg>
      </span>
      {children}
    </AriaCheckbox>
  );
}
