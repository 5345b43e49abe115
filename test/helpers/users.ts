import type { UserId } from '../../src/core/session.js';

/** The application's users in the HTTP tests: its own registry, as an app would have one. */
export interface TestUser {
  id: number;
  username: string;
  password: string;
  isActive: boolean;
}

export function makeUsers(): Map<string, TestUser> {
  return new Map([
    ['alice', { id: 1, username: 'alice', password: 'alice-password', isActive: true }],
    ['bob', { id: 2, username: 'bob', password: 'bob-password', isActive: true }],
    ['carol', { id: 3, username: 'carol', password: 'carol-password', isActive: true }],
  ]);
}

export function userCallbacks(users: Map<string, TestUser>) {
  return {
    verifyCredentials: (username: string, password: string): UserId | null => {
      const user = users.get(username);
      return user !== undefined && user.password === password && user.isActive ? user.id : null;
    },
    loadUser: (userId: UserId) => {
      const user = [...users.values()].find((u) => u.id === Number(userId));
      return user === undefined ? null : { id: user.id, username: user.username, isActive: user.isActive };
    },
  };
}
