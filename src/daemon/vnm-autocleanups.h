/* vnm-autocleanups.h: g_autoptr() cleanups for the outside libraries' types,
 * defined once. Include it after the library headers a module uses; each
 * block is compiled only where its library is included. */
#pragma once

#include <glib.h>

#ifdef __XML_TREE_H__
static inline void vnm_xml_char_free (xmlChar *p) { xmlFree (p); }
typedef xmlChar VnmXmlChar;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VnmXmlChar, vnm_xml_char_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (xmlDoc, xmlFreeDoc)
#endif

#ifdef __XML_PARSER_H__
G_DEFINE_AUTOPTR_CLEANUP_FUNC (xmlParserCtxt, xmlFreeParserCtxt)
#endif

#ifdef LIBVIRT_H
G_DEFINE_AUTOPTR_CLEANUP_FUNC (virDomain, virDomainFree)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (virConnect, virConnectClose)
#endif

#ifdef __VNM_FLOWS_BPF_SKEL_H__
typedef struct vnm_flows_bpf VnmFlowsBpf;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VnmFlowsBpf, vnm_flows_bpf__destroy)
#endif

#ifdef __VNM_LATENCY_BPF_SKEL_H__
typedef struct vnm_latency_bpf VnmLatencyBpf;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VnmLatencyBpf, vnm_latency_bpf__destroy)
#endif
