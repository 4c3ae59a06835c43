import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { CheckoutApp } from "./checkout-app.tsx";
import { pickLanguage } from "./i18n.ts";
import "./styles.css";

// Served at /pay/{payment_intent_id}; the gateway answered 404 already if the id is unknown.
const paymentIntentId = decodeURIComponent(
  window.location.pathname.split("/").filter(Boolean)[1] ?? "",
);
const params = new URLSearchParams(window.location.search);
const root = document.getElementById("root");
if (root) {
  createRoot(root).render(
    <StrictMode>
      <CheckoutApp
        paymentIntentId={paymentIntentId}
        embed={params.get("embed") === "1"}
        initialLanguage={pickLanguage(window.location.search, navigator.languages)}
      />
    </StrictMode>,
  );
}
