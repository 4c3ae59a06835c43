/** A page of an admin list: `{ items, total_count, page_number, page_size }` (http/openapi.ts pageOf). */
export interface Page<T> {
  items: T[];
  total_count: number;
  page_number: number;
  page_size: number;
}
