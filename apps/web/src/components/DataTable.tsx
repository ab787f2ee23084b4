'use client';
// The dashboard's tables: a header row of column titles, one row per item, and an empty state
// below the table. Each page keeps its own classes (the list pages are bare tables in a ring, the
// tables inside cards are lighter); this only removes the repeated table markup.
import type { HTMLAttributes, Key, ReactNode } from 'react';

export interface Column<T> {
  header: ReactNode;
  /** Class of the header cell. */
  headerClassName?: string;
  cell: (row: T) => ReactNode;
  /** Class of the body cells, fixed or per row. */
  className?: string | ((row: T) => string);
  /** Tooltip of a body cell. */
  title?: (row: T) => string | undefined;
}

/** Attributes of a body row: classes and the data-* attributes the end-to-end tests look for. */
export type RowAttributes = HTMLAttributes<HTMLTableRowElement> & { [data: `data-${string}`]: string | undefined };

export interface DataTableProps<T> {
  /** data-testid of the table. */
  testId: string;
  /** Columns in order; a falsy entry is a column left out (e.g. for a role that may not act). */
  columns: (Column<T> | false | null | undefined)[];
  rows: readonly T[];
  rowKey: (row: T) => Key;
  rowAttributes?: (row: T) => RowAttributes;
  headClassName?: string;
  bodyClassName?: string;
  /** Shown after the table when there are no rows; nothing when absent. */
  empty?: ReactNode;
}

export function DataTable<T>({ testId, columns, rows, rowKey, rowAttributes, headClassName, bodyClassName, empty }: DataTableProps<T>) {
  const cols = columns.filter((c): c is Column<T> => Boolean(c));
  return (
    <>
      <table className="min-w-full text-sm" data-testid={testId}>
        <thead className={headClassName}>
          <tr>
            {cols.map((c, i) => (
              <th key={i} className={c.headerClassName}>
                {c.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody className={bodyClassName}>
          {rows.map((row) => (
            <tr key={rowKey(row)} {...rowAttributes?.(row)}>
              {cols.map((c, i) => (
                <td key={i} className={typeof c.className === 'function' ? c.className(row) : c.className} title={c.title?.(row)}>
                  {c.cell(row)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      {rows.length === 0 && empty}
    </>
  );
}
