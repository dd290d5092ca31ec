import type { Agent } from '../../src-shared/agents.ts';
import type { AgentRegistry } from '../agents/registry.ts';
import type { EventBus } from '../events/bus.ts';
import type { AgentDirectory } from './discussion-service.ts';

/**
 * The agents as the discussion service sees them: a copy of the registry kept current by
 * the registry's own events, with the registry itself behind it. A discussion's view names
 * every participant, and a list of discussions would otherwise be a query per participant;
 * the events carry every agent whole, on every server. An agent the copy does not know
 * yet (created a moment ago, its event still on its way from the database) is read from
 * the registry, so a discussion can name an agent as soon as its creation was answered.
 */
export class RegistryAgentDirectory implements AgentDirectory {
  readonly #agents = new Map<string, Agent>();
  readonly #registry: AgentRegistry;
  #stopListening: () => void = () => {};

  private constructor(registry: AgentRegistry) {
    this.#registry = registry;
  }

  static async open(registry: AgentRegistry, bus: EventBus): Promise<RegistryAgentDirectory> {
    const directory = new RegistryAgentDirectory(registry);
    // Listen before reading, so no change falls between the two; an agent an event has
    // already told us about is newer than the list read alongside it.
    const touched = new Set<string>();
    directory.#stopListening = bus.listen(['agent.*'], (event) => {
      const data = event.data as { agent_id?: unknown; agent?: Agent; to?: Agent['status'] };
      if (typeof data.agent_id !== 'string') return;
      touched.add(data.agent_id);
      directory.#apply(event.type, data.agent_id, data);
    });
    for (const agent of await registry.list()) if (!touched.has(agent.id)) directory.#agents.set(agent.id, agent);
    return directory;
  }

  async find(id: string): Promise<Agent | undefined> {
    return this.#agents.get(id) ?? (await this.#registry.find(id));
  }

  close(): void {
    this.#stopListening();
  }

  #apply(type: string, id: string, data: { agent?: Agent; to?: Agent['status'] }): void {
    if (type === 'agent.deleted') this.#agents.delete(id);
    else if (data.agent !== undefined) this.#agents.set(id, data.agent);
    else if (type === 'agent.status_changed' && data.to !== undefined) {
      const agent = this.#agents.get(id);
      if (agent) this.#agents.set(id, { ...agent, status: data.to });
    }
  }
}
