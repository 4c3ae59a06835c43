import { MutationCache, QueryCache, QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { RouterProvider } from "@tanstack/react-router";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { ApiError } from "./api/client.ts";
import { SESSION_KEY } from "./api/session.ts";
import { I18nProvider } from "./i18n/index.tsx";
import { createStudioRouter } from "./router.tsx";
import "./styles.css";

// A session that ended while the page was open (idle timeout, signed out elsewhere): the next
// request answers 401 4031 and the user goes to the sign-in page, then back to where they were.
function onApiError(err: unknown) {
  if (err instanceof ApiError && err.status === 401 && err.code === 4031) {
    queryClient.setQueryData(SESSION_KEY, null);
    const here = router.state.location.href;
    if (router.state.location.pathname !== "/login") {
      void router.navigate({ to: "/login", search: { next: here, ended: true } });
    }
  }
}

const queryClient = new QueryClient({
  queryCache: new QueryCache({ onError: onApiError }),
  mutationCache: new MutationCache({ onError: onApiError }),
  defaultOptions: {
    queries: {
      staleTime: 15_000,
      // A 4xx will not go away by asking again; a dropped connection may.
      retry: (count, err) => !(err instanceof ApiError && err.status < 500) && count < 2,
    },
  },
});
const router = createStudioRouter(queryClient);

const root = document.getElementById("root");
if (root) {
  createRoot(root).render(
    <StrictMode>
      <I18nProvider>
        <QueryClientProvider client={queryClient}>
          <RouterProvider router={router} />
        </QueryClientProvider>
      </I18nProvider>
    </StrictMode>,
  );
}
